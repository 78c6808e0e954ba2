package metrics

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/raygate/raygate/gateway"
)

// AccessLog writes one structured line per request (log/slog): request id,
// route, service, instance, status, durations and bytes. Sample is the share
// of requests logged (1 logs all); routes can be switched off.
type AccessLog struct {
	logger *slog.Logger
	sample float64
	off    map[string]bool
}

// NewAccessLog logs to w (the console in the image, stderr in hosted mode).
func NewAccessLog(w io.Writer, sample float64, offRoutes []string) *AccessLog {
	off := map[string]bool{}
	for _, r := range offRoutes {
		off[r] = true
	}
	return &AccessLog{logger: slog.New(slog.NewTextHandler(w, nil)), sample: sample, off: off}
}

func (a *AccessLog) log(ex *gateway.Exchange) {
	if a.off[ex.Route] || (a.sample < 1 && rand.Float64() >= a.sample) {
		return
	}
	attrs := []slog.Attr{
		slog.String("id", ex.ID),
		slog.String("method", ex.Request.Method),
		slog.String("path", ex.Path),
		slog.String("route", ex.Route),
		slog.Int("status", ex.Status),
		slog.Duration("total", time.Since(ex.Start)),
		slog.Int64("bytes_in", ex.BytesIn),
		slog.Int64("bytes_out", ex.BytesOut),
		slog.String("client", ex.RemoteIP()),
	}
	if ex.Service != "" {
		attrs = append(attrs, slog.String("service", ex.Service), slog.String("instance", ex.Instance),
			slog.Duration("upstream", ex.Upstream), slog.Int("attempts", ex.Attempts))
	}
	if ex.Problem != "" {
		attrs = append(attrs, slog.String("problem", ex.Problem))
	}
	if ex.Identity != nil {
		attrs = append(attrs, slog.String("subject", ex.Identity.Subject))
	}
	a.logger.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}
