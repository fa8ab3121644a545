package queue

import (
	"context"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// Worker runs a queue's passes in the background while the app serves:
// every interval, and as soon as Wake asks for one. The zero value is not
// usable: call NewWorker.
type Worker struct {
	name     string
	interval time.Duration
	pass     func(ctx context.Context, app core.App)
	// wake holds at most one request for a pass.
	wake chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

// NewWorker returns a stopped worker that runs pass every interval.
func NewWorker(name string, interval time.Duration, pass func(ctx context.Context, app core.App)) *Worker {
	return &Worker{name: name, interval: interval, pass: pass, wake: make(chan struct{}, 1)}
}

// Bind starts the worker when app serves and stops it when app terminates.
func (w *Worker) Bind(app core.App) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		w.start(se.App)
		return se.Next()
	})
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		w.Stop()
		return e.Next()
	})
}

func (w *Worker) start(app core.App) {
	if w.stop != nil {
		return // already running
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.stop, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		ticker := time.NewTicker(w.interval)
		defer ticker.Stop()
		for {
			w.runPass(ctx, app)
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			case <-w.wake:
			}
		}
	}()
}

// runPass runs one pass; a panic in it is logged, and the next pass runs
// as usual.
func (w *Worker) runPass(ctx context.Context, app core.App) {
	defer func() {
		if r := recover(); r != nil {
			app.Logger().Error("Background sender pass panicked", "worker", w.name, "panic", r)
		}
	}()
	w.pass(ctx, app)
}

// Wake asks the worker for a pass now.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default: // a pass is already requested
	}
}

// Stop stops the worker and waits for the pass in flight.
func (w *Worker) Stop() {
	if w.stop != nil {
		w.stop()
		<-w.done
		w.stop = nil
	}
}
