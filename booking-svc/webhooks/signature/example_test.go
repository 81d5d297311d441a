package signature_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/setora/rest/booking-svc/webhooks/signature"
)

// The receiver below is the Go example of docs/webhooks.md: read the raw body, verify it, and
// only then decode it.
func ExampleVerify() {
	endpointSecret := "whsec_0123456789abcdefghijABCDEFGHIJ0123456789"

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		err = signature.Verify(body, r.Header.Get("Setora-Signature"), endpointSecret,
			signature.DefaultTolerance, time.Now())
		if err != nil {
			http.Error(w, "invalid signature", http.StatusBadRequest)
			return
		}
		// Decode body here, skip event ids already handled, and drop events whose sequence is
		// not above the last one applied to that booking.
		w.WriteHeader(http.StatusNoContent)
	})

	send := func(payload []byte, header string) int {
		req := httptest.NewRequest(http.MethodPost, "/setora", bytes.NewReader(payload))
		req.Header.Set("Setora-Signature", header)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec.Code
	}
	payload := []byte(`{"id":"8c5820c4-5655-40ae-8c53-d16b4d54f517","type":"booking.created"}`)
	fresh := signature.Sign(payload, time.Now(), endpointSecret)
	stale := signature.Sign(payload, time.Now().Add(-10*time.Minute), endpointSecret)

	fmt.Println("signed:", send(payload, fresh))
	fmt.Println("tampered:", send(bytes.Replace(payload, []byte("created"), []byte("deleted"), 1), fresh))
	fmt.Println("ten minutes old:", send(payload, stale))
	// Output:
	// signed: 204
	// tampered: 400
	// ten minutes old: 400
}
