package notify

import (
	"testing"
	"time"
)

// One acknowledgement listing several changes releases the writers of all of them, and only
// once every live replica has acknowledged.
func TestEchoBatchedAcknowledgement(t *testing.T) {
	e := NewEcho()
	e.listening.Store(true)
	e.received(Ack{Replica: "a"})
	e.received(Ack{Replica: "b"})
	e.Expect("one")
	e.Expect("two")
	e.Expect("three")

	e.received(Ack{Replica: "a", ChangeIDs: []string{"one", "two", "three"}})
	e.received(Ack{Replica: "b", ChangeID: "one", ChangeIDs: []string{"two"}})
	for _, id := range []string{"one", "two"} {
		if _, waiting := e.waiting[id]; waiting {
			t.Errorf("change %s still waits after both replicas acknowledged it", id)
		}
	}
	if p, waiting := e.waiting["three"]; !waiting || !p.missing["b"] || len(p.missing) != 1 {
		t.Fatalf("change three should wait for replica b only, waiting %v", waiting)
	}

	done := make(chan struct{})
	go func() {
		e.Wait([]string{"three"}, time.Minute)
		close(done)
	}()
	e.received(Ack{Replica: "b", ChangeIDs: []string{"three"}})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after the last acknowledgement")
	}
}
