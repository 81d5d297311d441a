package main

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"
)

// series is one line of a chart.
type series struct {
	Name   string
	Color  string
	Points [][2]float64 // x, y
}

// Chart size in SVG user units.
const (
	chartWidth  = 900
	chartHeight = 300
	chartLeft   = 70
	chartRight  = 20
	chartTop    = 30
	chartBottom = 40
)

// lineChart draws series as an inline SVG with axes, ticks and a legend; it needs no script or
// style sheet from elsewhere.
func lineChart(title, xLabel, yLabel string, lines []series) template.HTML {
	maxX, maxY := 1.0, 0.0
	for _, l := range lines {
		for _, p := range l.Points {
			maxX, maxY = math.Max(maxX, p[0]), math.Max(maxY, p[1])
		}
	}
	maxY = niceCeiling(maxY)
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(chartHeight - chartTop - chartBottom)
	x := func(v float64) float64 { return chartLeft + v/maxX*plotW }
	y := func(v float64) float64 { return chartTop + plotH - v/maxY*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" font-family="sans-serif" font-size="12">`,
		chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14" font-weight="bold">%s</text>`, chartLeft, html.EscapeString(title))
	for i := 0; i <= 5; i++ {
		v := maxY * float64(i) / 5
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, chartLeft, chartWidth-chartRight, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, chartLeft-6, y(v)+4, formatTick(v))
	}
	for i := 0; i <= 10; i++ {
		v := maxX * float64(i) / 10
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(v), chartHeight-chartBottom+16, formatTick(v))
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#333"/>`, chartLeft, chartWidth-chartRight, y(0), y(0))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, chartLeft+int(plotW/2), chartHeight-6, html.EscapeString(xLabel))
	fmt.Fprintf(&b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>`,
		chartTop+int(plotH/2), chartTop+int(plotH/2), html.EscapeString(yLabel))

	for i, l := range lines {
		if len(l.Points) == 0 {
			continue
		}
		var pts strings.Builder
		for _, p := range l.Points {
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(p[0]), y(p[1]))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, l.Color, pts.String())
		lx := chartLeft + 10 + i*170
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="3" fill="%s"/><text x="%d" y="%d">%s</text>`,
			lx, chartTop-4, l.Color, lx+16, chartTop, html.EscapeString(l.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from numbers and escaped text only
}

// niceCeiling rounds up to 1, 2 or 5 times a power of ten, so that ticks read well.
func niceCeiling(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func formatTick(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Setora load test: {{.Res.Scenario.Name}}</title>
<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}.fail{color:#b00}.pass{color:#070}</style>
</head><body>
<h1>Load test: {{.Res.Scenario.Name}}</h1>
<p>Run {{.Res.RunID}} at {{.Res.StartedAt.Format "2006-01-02 15:04:05 MST"}} against {{.Res.Target}}: {{printf "%.1f" .Res.Seconds}} s,
target rate {{printf "%.0f" .Res.Rate}}/s (0 means closed model), concurrency {{.Res.Concurrency}}, on {{.Machine}}.
The load generator shares the machine with the services it measures.</p>
<h2>Endpoints</h2>
<table><tr><th>endpoint</th><th>requests</th><th>req/s</th><th>errors</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>statuses</th><th>error codes</th></tr>
{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.Requests}}</td><td>{{printf "%.1f" .Throughput}}</td><td>{{.Errors}}</td><td>{{printf "%.2f" .LatencyMS.P50}}</td><td>{{printf "%.2f" .LatencyMS.P90}}</td><td>{{printf "%.2f" .LatencyMS.P99}}</td><td>{{printf "%.2f" .LatencyMS.P999}}</td><td>{{printf "%.2f" .LatencyMS.Max}}</td><td>{{.StatusText}}</td><td>{{.CodeText}}</td></tr>
{{end}}</table>
<p>Latency runs from each request's intended start, so waiting for a free worker counts.
Cache hit ratio {{printf "%.3f" .Res.Cache.HitRatio}}; {{printf "%.0f" .Res.Cache.NotModified}} answers were 304;
invalidation lag p99 {{printf "%.2f" .Res.Cache.InvalidationLagP99MS}} ms (from the replicas' histograms).</p>
<h2>Latency over time</h2>
{{.Latency}}
<h2>Throughput over time</h2>
{{.Throughput}}
{{if .Memory}}<h2>Resident memory</h2>
{{.Memory}}{{end}}
<h2>Verification: <span class="{{if .Res.Verification.Passed}}pass">passed{{else}}fail">FAILED{{end}}</span></h2>
<p>{{.Res.Verification.Attempts}} booking attempts: {{.Res.Verification.Created}} created (201), {{.Res.Verification.Conflicts}} conflicts (409),
{{.Res.Verification.Unresolved}} unresolved. {{.Res.Verification.OverlappingPairs}} overlapping pairs, {{.Res.Verification.Lost}} lost bookings,
{{.Res.Verification.ReplayMismatches}} of {{.Res.Verification.Replays}} replays and {{.Res.Verification.DuplicateMismatches}} of
{{.Res.Verification.Duplicates}} concurrent duplicates disagreed with the original answer.
Freshness over {{.Res.Verification.Freshness.Replicas}} replicas ({{.Res.Verification.Freshness.Samples}} samples): p50
{{printf "%.2f" .Res.Verification.Freshness.AllMS.P50}} ms, p99 {{printf "%.2f" .Res.Verification.Freshness.AllMS.P99}} ms,
max {{printf "%.2f" .Res.Verification.Freshness.AllMS.Max}} ms.</p>
{{if .Res.Verification.Problems}}<ul>{{range .Res.Verification.Problems}}<li class="fail">{{.}}</li>{{end}}</ul>{{end}}
{{if .Res.Warnings}}<h2>Warnings</h2><ul>{{range .Res.Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body></html>
`))

type htmlRow struct {
	endpointResult
	StatusText, CodeText string
}

func writeHTML(w io.Writer, res *runResult) error {
	var availP50, availP99, bookP50, bookP99, rate, errs []([2]float64)
	for _, p := range res.Timeline {
		t := float64(p.Second)
		if p.AvailabilityAnswers > 0 {
			availP50 = append(availP50, [2]float64{t, p.AvailabilityP50MS})
			availP99 = append(availP99, [2]float64{t, p.AvailabilityP99MS})
		}
		if p.BookingAnswers > 0 {
			bookP50 = append(bookP50, [2]float64{t, p.BookingP50MS})
			bookP99 = append(bookP99, [2]float64{t, p.BookingP99MS})
		}
		rate = append(rate, [2]float64{t, float64(p.Requests)})
		errs = append(errs, [2]float64{t, float64(p.Errors)})
	}
	data := struct {
		Res                         *runResult
		Machine                     string
		Rows                        []htmlRow
		Latency, Throughput, Memory template.HTML
	}{Res: res, Machine: res.Machine.String()}
	for _, e := range append(append([]endpointResult(nil), res.Endpoints...), res.Total) {
		data.Rows = append(data.Rows, htmlRow{endpointResult: e, StatusText: statusList(e.Statuses), CodeText: statusList(e.ErrorCodes)})
	}
	data.Latency = lineChart("Latency by second of intended start", "seconds", "milliseconds", []series{
		{"availability p50", "#1f77b4", availP50}, {"availability p99", "#aec7e8", availP99},
		{"booking p50", "#d62728", bookP50}, {"booking p99", "#ff9896", bookP99},
	})
	data.Throughput = lineChart("Requests and errors per second", "seconds", "requests", []series{
		{"requests", "#2ca02c", rate}, {"errors", "#d62728", errs},
	})
	if len(res.Memory) > 0 {
		byURL := map[string][][2]float64{}
		var order []string
		for _, m := range res.Memory {
			if _, ok := byURL[m.URL]; !ok {
				order = append(order, m.URL)
			}
			byURL[m.URL] = append(byURL[m.URL], [2]float64{m.AtSeconds, m.RSSBytes / (1 << 20)})
		}
		colours := []string{"#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}
		var lines []series
		for i, u := range order {
			lines = append(lines, series{u, colours[i%len(colours)], byURL[u]})
		}
		data.Memory = lineChart("Resident memory (process_resident_memory_bytes)", "seconds", "MiB", lines)
	}
	return pageTemplate.Execute(w, data)
}
