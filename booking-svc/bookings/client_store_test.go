package bookings

import (
	"errors"
	"testing"

	"github.com/google/uuid"
)

func ptr(s string) *string { return &s }

func TestCreateClientRejectsDuplicates(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	first, err := s.store.CreateClient(s.ctx, s.org, NewClient{Name: "Alex", Phone: "+447700900123", Email: "Alex@Example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if first.Name == nil || *first.Name != "Alex" || first.Notes != nil {
		t.Errorf("created client = %+v", first)
	}

	cases := []struct {
		name  string
		in    NewClient
		field string
	}{
		{"same phone", NewClient{Phone: "+447700900123"}, "phone"},
		{"same e-mail in another case", NewClient{Email: "alex@EXAMPLE.com"}, "email"},
		{"both", NewClient{Phone: "+447700900123", Email: "alex@example.com"}, "phone"},
	}
	for _, tc := range cases {
		_, err := s.store.CreateClient(s.ctx, s.org, tc.in)
		var exists *ClientExistsError
		if !errors.As(err, &exists) {
			t.Errorf("%s: err = %v, want ClientExistsError", tc.name, err)
			continue
		}
		if exists.ID != first.ID || exists.Field != tc.field {
			t.Errorf("%s: exists = %+v, want client %s by %s", tc.name, exists, first.ID, tc.field)
		}
	}
	if _, err := s.store.CreateClient(s.ctx, s.org, NewClient{Name: "No contact"}); !errors.Is(err, ErrClientContactRequired) {
		t.Errorf("client without contact details: err = %v", err)
	}

	otherOrg := uuid.New()
	s.exec(`INSERT INTO organisations (id, name, mode) VALUES ($1, 'Other', 'test')`, otherOrg)
	if _, err := s.store.CreateClient(s.ctx, otherOrg, NewClient{Phone: "+447700900123"}); err != nil {
		t.Errorf("the same phone in another organisation: %v", err)
	}
	if _, err := s.store.GetClient(s.ctx, otherOrg, first.ID); !errors.Is(err, ErrClientNotFound) {
		t.Errorf("another organisation reads the client: err = %v", err)
	}
}

func TestListClientsByPhoneAndEmail(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	var ids []uuid.UUID
	for _, in := range []NewClient{
		{Phone: "+447700900001", Email: "one@example.com"},
		{Phone: "+447700900002"},
		{Email: "Three@Example.com"},
	} {
		c, err := s.store.CreateClient(s.ctx, s.org, in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}

	byPhone, err := s.store.ListClients(s.ctx, s.org, ClientFilter{Phone: "+447700900002"}, PageRequest{})
	if err != nil || len(byPhone.Items) != 1 || byPhone.Items[0].ID != ids[1] {
		t.Errorf("by phone: %d clients, %v", len(byPhone.Items), err)
	}
	byEmail, err := s.store.ListClients(s.ctx, s.org, ClientFilter{Email: "three@example.COM"}, PageRequest{})
	if err != nil || len(byEmail.Items) != 1 || byEmail.Items[0].ID != ids[2] {
		t.Errorf("by e-mail ignoring case: %d clients, %v", len(byEmail.Items), err)
	}
	none, err := s.store.ListClients(s.ctx, s.org, ClientFilter{Phone: "+447700900001", Email: "three@example.com"}, PageRequest{})
	if err != nil || len(none.Items) != 0 {
		t.Errorf("phone and e-mail of different clients: %d clients, %v", len(none.Items), err)
	}

	var seen []uuid.UUID
	cursor := ""
	for range 5 {
		page, err := s.store.ListClients(s.ctx, s.org, ClientFilter{}, PageRequest{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Items {
			seen = append(seen, c.ID)
		}
		if !page.HasMore {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != 3 || seen[0] != ids[0] || seen[1] != ids[1] || seen[2] != ids[2] {
		t.Errorf("paged clients = %v, want %v in creation order", seen, ids)
	}
}

func TestUpdateClient(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	c, err := s.store.CreateClient(s.ctx, s.org, NewClient{Name: "Alex", Phone: "+447700900123", Notes: "likes tea"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.store.CreateClient(s.ctx, s.org, NewClient{Email: "sam@example.com"})
	if err != nil {
		t.Fatal(err)
	}

	updated, err := s.store.UpdateClient(s.ctx, s.org, c.ID, ClientPatch{
		Email: Optional{Set: true, Value: ptr("alex@example.com")},
		Notes: Optional{Set: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Name == nil || *updated.Name != "Alex" || updated.Notes != nil || updated.Email == nil || *updated.Email != "alex@example.com" {
		t.Errorf("updated = %+v; want the name kept, notes cleared and the e-mail set", updated)
	}

	_, err = s.store.UpdateClient(s.ctx, s.org, c.ID, ClientPatch{Email: Optional{Set: true, Value: ptr("SAM@example.com")}})
	var exists *ClientExistsError
	if !errors.As(err, &exists) || exists.ID != other.ID || exists.Field != "email" {
		t.Errorf("take another client's e-mail: err = %v", err)
	}
	_, err = s.store.UpdateClient(s.ctx, s.org, c.ID, ClientPatch{Phone: Optional{Set: true}, Email: Optional{Set: true}})
	if !errors.Is(err, ErrClientContactRequired) {
		t.Errorf("clear both phone and e-mail: err = %v", err)
	}
	if _, err := s.store.UpdateClient(s.ctx, s.org, uuid.New(), ClientPatch{}); !errors.Is(err, ErrClientNotFound) {
		t.Errorf("unknown client: err = %v", err)
	}
}

// TestEraseClientKeepsBookings erases a client with two bookings: the personal data and the
// bookings' notes go, in the stored events too, while the bookings stay with the client id.
func TestEraseClientKeepsBookings(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	in := s.input(s.cut, s.alice, "10:00")
	in.Client = &ClientInput{Name: "Alex", Phone: "+447700900123", Email: "alex@example.com"}
	in.Notes = "allergic to lavender"
	first, err := s.store.Create(s.ctx, s.org, s.now, in)
	if err != nil {
		t.Fatal(err)
	}
	clientID := *first.ClientID
	in.StartsAt = s.on("11:00")
	if _, err := s.store.Create(s.ctx, s.org, s.now, in); err != nil {
		t.Fatal(err)
	}

	erased, err := s.store.EraseClient(s.ctx, s.org, s.now, clientID)
	if err != nil {
		t.Fatal(err)
	}
	if erased.Name != nil || erased.Phone != nil || erased.Email != nil || erased.Notes != nil || erased.ErasedAt == nil {
		t.Errorf("erased client = %+v", erased)
	}
	if n := s.count(`SELECT count(*) FROM bookings WHERE client_id = $1 AND notes = ''`, clientID); n != 2 {
		t.Errorf("bookings kept with cleared notes = %d, want 2", n)
	}
	if n := s.count(`SELECT count(*) FROM outbox_events WHERE payload::text LIKE '%lavender%'`); n != 0 {
		t.Errorf("events still holding the notes = %d", n)
	}
	if n := s.count(`SELECT count(*) FROM clients WHERE id = $1 AND phone IS NULL AND email IS NULL AND name IS NULL`, clientID); n != 1 {
		t.Error("the client row was removed or kept its personal data")
	}

	again, err := s.store.EraseClient(s.ctx, s.org, s.now.Add(1), clientID)
	if err != nil || !again.ErasedAt.Equal(*erased.ErasedAt) {
		t.Errorf("erase again = %v, %v; want the same erased client", again, err)
	}
	if _, err := s.store.UpdateClient(s.ctx, s.org, clientID, ClientPatch{Name: Optional{Set: true, Value: ptr("Back")}}); !errors.Is(err, ErrClientErased) {
		t.Errorf("update an erased client: err = %v", err)
	}
	if list, _ := s.store.ListClients(s.ctx, s.org, ClientFilter{}, PageRequest{}); len(list.Items) != 0 {
		t.Errorf("clients listed after erasure = %d, want 0", len(list.Items))
	}
	bookings, err := s.store.List(s.ctx, s.org, s.now, ListFilter{ClientID: clientID}, PageRequest{})
	if err != nil || len(bookings.Items) != 2 {
		t.Errorf("the erased client's bookings = %d, %v; want 2", len(bookings.Items), err)
	}

	byID := s.input(s.cut, s.alice, "12:00")
	byID.Client = &ClientInput{ID: &clientID}
	if _, err := s.store.Create(s.ctx, s.org, s.now, byID); !errors.Is(err, ErrClientNotFound) {
		t.Errorf("book for the erased client by id: err = %v", err)
	}
	byPhone := s.input(s.cut, s.alice, "12:00")
	byPhone.Client = &ClientInput{Phone: "+447700900123"}
	b, err := s.store.Create(s.ctx, s.org, s.now, byPhone)
	if err != nil || b.ClientID == nil || *b.ClientID == clientID {
		t.Errorf("book with the erased client's phone = %v, %v; want a new client", b, err)
	}
}
