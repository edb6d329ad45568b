package soak

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Series is one line of a chart.
type Series struct {
	Name string
	X    []time.Duration // since the load started
	Y    []float64
}

// Chart is a line chart rendered as a self-contained SVG (no scripts, no
// external fonts), readable on GitHub and in any browser.
type Chart struct {
	Title  string
	YLabel string
	Series []Series
	// Marks are vertical lines (e.g. schedule runs), labelled.
	Marks []Mark
}

// Mark is a labelled vertical line at X.
type Mark struct {
	X     time.Duration
	Label string
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

const (
	svgW, svgH                   = 800, 360
	padL, padR, padTop, padBottm = 78, 170, 36, 48
)

// WriteSVG renders the chart.
func (c Chart) WriteSVG(w io.Writer) error {
	xmax, ymin, ymax := 0.0, math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for i := range s.Y {
			if i < len(s.X) {
				xmax = math.Max(xmax, s.X[i].Minutes())
			}
			ymin, ymax = math.Min(ymin, s.Y[i]), math.Max(ymax, s.Y[i])
		}
	}
	if math.IsInf(ymin, 0) {
		ymin, ymax = 0, 1
	}
	ymin = math.Min(ymin, 0) // always from zero: a flat line must look flat
	if ymax <= ymin {
		ymax = ymin + 1
	}
	if xmax <= 0 {
		xmax = 1
	}
	yt := niceTicks(ymin, ymax, 5)
	ymax = math.Max(ymax, yt[len(yt)-1])
	xt := niceTicks(0, xmax, 8)
	xmax = math.Max(xmax, xt[len(xt)-1])
	pw, ph := float64(svgW-padL-padR), float64(svgH-padTop-padBottm)
	px := func(m float64) float64 { return padL + m/xmax*pw }
	py := func(v float64) float64 { return padTop + ph - (v-ymin)/(ymax-ymin)*ph }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", svgW, svgH)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", padL, esc(c.Title))
	for _, v := range yt {
		y := py(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", padL, y, padL+pw, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padL-6, y+4, fmtNum(v))
	}
	for _, v := range xt {
		x := px(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", x, padTop, x, padTop+ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, padTop+ph+16, fmtNum(v))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#555"/>`+"\n", padL, padTop, pw, ph)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">minutes since the load started</text>`+"\n", padL+pw/2, svgH-8)
	fmt.Fprintf(&b, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", padTop+ph/2, esc(c.YLabel))
	for _, m := range c.Marks {
		x := px(m.X.Minutes())
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="3 3"><title>%s</title></line>`+"\n",
			x, padTop, x, padTop+ph, esc(m.Label))
	}
	for i, s := range c.Series {
		col := palette[i%len(palette)]
		var pts []string
		for j := range s.Y {
			if j < len(s.X) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.X[j].Minutes()), py(s.Y[j])))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"><title>%s</title></polyline>`+"\n",
			col, strings.Join(pts, " "), esc(s.Name))
		ly := padTop + 8 + i*18
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", padL+pw+12, ly, padL+pw+32, ly, col)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", padL+pw+38, ly+4, esc(s.Name))
	}
	if len(c.Marks) > 0 {
		ly := padTop + 8 + len(c.Series)*18
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999" stroke-dasharray="3 3"/>`+"\n", padL+pw+12, ly, padL+pw+32, ly)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">schedule run</text>`+"\n", padL+pw+38, ly+4)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceTicks covers [lo, hi] with about n ticks at 1, 2 or 5 × 10^k steps.
func niceTicks(lo, hi float64, n int) []float64 {
	span := hi - lo
	if span <= 0 {
		span = 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	first := math.Floor(lo / step)
	for k := 0.0; ; k++ {
		v := (first + k) * step
		out = append(out, v)
		if v >= hi || len(out) > 4*n {
			break
		}
	}
	return out
}

func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', -1, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

func esc(s string) string { return html.EscapeString(s) }
