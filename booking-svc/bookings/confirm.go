package bookings

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Confirm turns a live hold into a confirmed booking and records the caller's deposit. The
// hold already reserves the slot, so the slot is not checked again: a hold confirmed after the
// minimum notice has passed stays valid.
//
// A booking whose services require a deposit (the sum of their deposits) needs in.Deposit in
// the services' currency, at least the required amount and at most the price. Otherwise the
// error is a *DepositError, and the hold stays as it was until its expiry. A deposit sent for
// services that require none is recorded as given.
func (s *Store) Confirm(ctx context.Context, orgID uuid.UUID, now time.Time, idOrRef string, in ConfirmInput) (*Booking, error) {
	var booking *Booking
	err := s.inTx(ctx, func(tx *writeTx) error {
		b, err := getBooking(ctx, tx, orgID, idOrRef, true)
		if err != nil {
			return err
		}
		to, err := nextStatus(b, ActionConfirm, now)
		if err != nil {
			return err
		}
		if err := checkDeposit(b, in.Deposit); err != nil {
			return err
		}

		var amount *int64
		var currency, paymentRef *string
		if in.Deposit != nil {
			amount, currency, paymentRef = &in.Deposit.AmountMinor, &in.Deposit.Currency, &in.Deposit.PaymentReference
		}
		err = tx.QueryRow(ctx, `UPDATE bookings SET status = $2, confirmed_at = $3, hold_expires_at = NULL,
				deposit_amount_minor = $4, deposit_currency = $5, payment_reference = $6,
				version = version + 1, updated_at = now()
			WHERE id = $1 RETURNING version, updated_at`, b.ID, to, now, amount, currency, paymentRef).
			Scan(&b.Version, &b.UpdatedAt)
		if err != nil {
			return fmt.Errorf("confirm booking %s: %w", b.ID, err)
		}
		b.Status, b.ConfirmedAt, b.HoldExpiresAt, b.Deposit = to, &now, nil, in.Deposit

		if err := writeEvent(ctx, tx, b, "booking.confirmed"); err != nil {
			return err
		}
		// The interval stays blocked, but no longer lapses, so cached days must change.
		if err := notifySchedule(ctx, tx, b, b.blocked()); err != nil {
			return err
		}
		booking = b
		return nil
	})
	return booking, err
}

// checkDeposit compares a deposit with what the booked services require, using the deposit
// and price values recorded when the booking was made.
func checkDeposit(b *Booking, deposit *Deposit) error {
	var required, price int64
	currency := ""
	for _, s := range b.Services {
		required += s.DepositMinor
		price += s.PriceMinor
		currency = s.Currency
	}
	reject := func(problem DepositProblem) error {
		return &DepositError{Problem: problem, RequiredMinor: required, PriceMinor: price, Currency: currency}
	}

	if deposit == nil {
		if required > 0 {
			return reject(DepositMissing)
		}
		return nil
	}
	if currency != "" && deposit.Currency != currency {
		return reject(DepositCurrencyMismatch)
	}
	if deposit.AmountMinor < required {
		return reject(DepositShort)
	}
	if deposit.AmountMinor > price {
		return reject(DepositAbovePrice)
	}
	return nil
}
