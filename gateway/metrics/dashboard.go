package metrics

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed dashboard/index.html
var dashboardFS embed.FS

// DashboardHandler serves the live dashboard (embedded: no CDN, works from
// the image). It reads /admin/metrics.json, /admin/services and
// /admin/resilience/breakers every second.
func DashboardHandler() http.Handler {
	sub, _ := fs.Sub(dashboardFS, "dashboard")
	return http.StripPrefix("/dashboard/", http.FileServer(http.FS(sub)))
}
