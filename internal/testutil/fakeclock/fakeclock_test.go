package fakeclock_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
)

var _ shiplog.Clock = (*fakeclock.Clock)(nil)

func TestAdvanceFiresInOrder(t *testing.T) {
	t.Parallel()
	c := fakeclock.New(fakeclock.Epoch)
	var got []string
	var at []time.Duration
	add := func(name string, d time.Duration) {
		c.AfterFunc(d, func() {
			got = append(got, name)
			at = append(at, c.Now().Sub(fakeclock.Epoch))
		})
	}
	add("c", 3*time.Second)
	add("a", time.Second)
	add("b1", 2*time.Second)
	add("b2", 2*time.Second)
	stop := c.AfterFunc(2*time.Second, func() { got = append(got, "stopped") })
	if !stop() {
		t.Fatal("stop of a pending timer = false")
	}
	if stop() {
		t.Fatal("second stop = true")
	}

	c.Advance(999 * time.Millisecond)
	if len(got) != 0 || c.Pending() != 4 {
		t.Fatalf("before the first deadline: fired %v, pending %d", got, c.Pending())
	}
	if d, ok := c.Next(); !ok || d != time.Millisecond {
		t.Fatalf("Next = %v, %v; want 1ms", d, ok)
	}
	c.Advance(10 * time.Second)
	if want := []string{"a", "b1", "b2", "c"}; !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 2 * time.Second, 3 * time.Second}; !slices.Equal(at, want) {
		t.Fatalf("Now during callbacks %v, want %v", at, want)
	}
	if n := c.Now().Sub(fakeclock.Epoch); n != 10*time.Second+999*time.Millisecond {
		t.Fatalf("Now after Advance = +%v", n)
	}
	if c.Pending() != 0 {
		t.Fatalf("pending %d after all fired", c.Pending())
	}
	if _, ok := c.Next(); ok {
		t.Fatal("Next reports a timer when none is pending")
	}
}

func TestCallbackMaySchedule(t *testing.T) {
	t.Parallel()
	c := fakeclock.New(fakeclock.Epoch)
	var fired []time.Duration
	var tick func()
	tick = func() {
		fired = append(fired, c.Now().Sub(fakeclock.Epoch))
		c.AfterFunc(time.Second, tick) // re-entrant: no deadlock
	}
	c.AfterFunc(time.Second, tick)
	c.Advance(3500 * time.Millisecond)
	if want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}; !slices.Equal(fired, want) {
		t.Fatalf("fired at %v, want %v", fired, want)
	}
	if c.Pending() != 1 {
		t.Fatalf("pending %d, want the next tick", c.Pending())
	}
}

func TestStopAfterFire(t *testing.T) {
	t.Parallel()
	c := fakeclock.New(fakeclock.Epoch)
	stop := c.AfterFunc(time.Second, func() {})
	c.Advance(time.Second)
	if stop() {
		t.Fatal("stop after the timer fired = true")
	}
}

func TestNonPositiveRunsAtOnce(t *testing.T) {
	t.Parallel()
	c := fakeclock.New(fakeclock.Epoch)
	done := make(chan struct{})
	stop := c.AfterFunc(0, func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("AfterFunc(0) did not run")
	}
	if stop() || c.Pending() != 0 {
		t.Fatal("an immediate timer counts as pending")
	}
}

func TestBlockUntil(t *testing.T) {
	t.Parallel()
	c := fakeclock.New(fakeclock.Epoch)
	var mu sync.Mutex
	fired := 0
	go func() {
		for range 3 {
			c.AfterFunc(time.Minute, func() { mu.Lock(); fired++; mu.Unlock() })
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.BlockUntilContext(ctx, 3); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	mu.Lock()
	defer mu.Unlock()
	if fired != 3 {
		t.Fatalf("fired %d, want 3", fired)
	}

	short, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := c.BlockUntilContext(short, 1); err == nil {
		t.Fatal("BlockUntilContext with a cancelled context returned nil with no timer pending")
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	c := fakeclock.New(fakeclock.Epoch)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fired := 0
	for range 8 {
		wg.Go(func() {
			for range 50 {
				stop := c.AfterFunc(time.Millisecond, func() { mu.Lock(); fired++; mu.Unlock() })
				_ = c.Now()
				if c.Pending() < 0 {
					t.Error("negative pending")
				}
				_ = stop
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			c.Advance(time.Millisecond)
		}
	})
	wg.Wait()
	c.Advance(time.Second)
	mu.Lock()
	defer mu.Unlock()
	if fired != 400 {
		t.Fatalf("fired %d, want 400", fired)
	}
}

func TestChanged(t *testing.T) {
	t.Parallel()
	c := fakeclock.New(fakeclock.Epoch)
	ch := c.Changed()
	select {
	case <-ch:
		t.Fatal("Changed closed with nothing changed")
	default:
	}
	stop := c.AfterFunc(time.Second, func() {})
	<-ch // scheduling closes it
	ch = c.Changed()
	stop()
	<-ch // stopping closes it
	c.AfterFunc(time.Second, func() {})
	ch = c.Changed()
	c.Advance(time.Second)
	<-ch // firing closes it
}
