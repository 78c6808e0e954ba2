package balance

import (
	"context"
	"sync"
)

// background runs one loop in a goroutine until stop, which waits for it.
type background struct {
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func (b *background) start(loop func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.done.Add(1)
	go func() {
		defer b.done.Done()
		loop(ctx)
	}()
}

func (b *background) stop() {
	if b.cancel != nil {
		b.cancel()
	}
	b.done.Wait()
}
