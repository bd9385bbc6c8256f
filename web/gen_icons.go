//go:build ignore

// gen_icons draws Parley's icons: a speech bubble with three dots on a green
// rounded square. Run from web/: go run gen_icons.go
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

var (
	bg  = color.NRGBA{0x0f, 0x5e, 0x4f, 0xff}
	fg  = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	dot = color.NRGBA{0x0f, 0x5e, 0x4f, 0xff}
)

// shape reports the colour at (x, y) in unit coordinates [0,1], or false for
// transparent. full makes the background fill the square (maskable icons).
func shape(x, y float64, full bool, scale float64) (color.NRGBA, bool) {
	if !full {
		// rounded square, radius 0.22
		r := 0.22
		dx := math.Max(math.Abs(x-0.5)-(0.5-r), 0)
		dy := math.Max(math.Abs(y-0.5)-(0.5-r), 0)
		if dx*dx+dy*dy > r*r {
			return color.NRGBA{}, false
		}
	}
	// content coordinates, scaled about the centre
	u := (x-0.5)/scale + 0.5
	v := (y-0.5)/scale + 0.5
	// bubble: ellipse centred (0.5, 0.46), radii 0.32 x 0.26, plus a tail
	ex, ey := (u-0.5)/0.32, (v-0.46)/0.26
	inBubble := ex*ex+ey*ey <= 1
	// tail: triangle (0.30,0.62) (0.44,0.68) (0.24,0.82)
	if !inBubble && inTriangle(u, v, 0.30, 0.60, 0.46, 0.68, 0.24, 0.82) {
		inBubble = true
	}
	if !inBubble {
		return bg, true
	}
	for _, cx := range []float64{0.36, 0.5, 0.64} {
		if (u-cx)*(u-cx)+(v-0.46)*(v-0.46) <= 0.045*0.045 {
			return dot, true
		}
	}
	return fg, true
}

func inTriangle(px, py, ax, ay, bx, by, cx, cy float64) bool {
	s := func(x1, y1, x2, y2, x3, y3 float64) float64 { return (x1-x3)*(y2-y3) - (x2-x3)*(y1-y3) }
	d1, d2, d3 := s(px, py, ax, ay, bx, by), s(px, py, bx, by, cx, cy), s(px, py, cx, cy, ax, ay)
	neg := d1 < 0 || d2 < 0 || d3 < 0
	pos := d1 > 0 || d2 > 0 || d3 > 0
	return !(neg && pos)
}

func draw(size int, full bool, scale float64, path string) {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					fx := (float64(x) + (float64(sx)+0.5)/ss) / float64(size)
					fy := (float64(y) + (float64(sy)+0.5)/ss) / float64(size)
					if c, ok := shape(fx, fy, full, scale); ok {
						r += float64(c.R)
						g += float64(c.G)
						b += float64(c.B)
						a++
					}
				}
			}
			if a == 0 {
				continue
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(r / a), uint8(g / a), uint8(b / a), uint8(255 * a / (ss * ss))})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

func main() {
	draw(192, false, 1, "icon-192.png")
	draw(512, false, 1, "icon-512.png")
	draw(512, true, 0.72, "icon-maskable-512.png")
}
