// Command pngshrink rewrites PNG files losslessly as small as the standard
// library makes them: a picture of a terminal has a few dozen colours, so
// it becomes a paletted PNG (a quarter of the bytes of the RGBA one freeze
// writes); a picture with more than 256 colours is only recompressed. The
// pixels never change. scripts/screenshots runs it on docs/screenshots.
//
//	go run ./internal/pngshrink FILE.png...
package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pngshrink FILE.png...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		before, after, err := shrinkFile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pngshrink: %s: %v\n", path, err)
			os.Exit(1)
		}
		fmt.Printf("%s: %d -> %d bytes\n", path, before, after)
	}
}

// shrinkFile rewrites path in place when the result is smaller.
func shrinkFile(path string) (before, after int, err error) {
	in, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	out, err := shrink(in)
	if err != nil {
		return len(in), 0, err
	}
	if len(out) >= len(in) {
		return len(in), len(in), nil
	}
	return len(in), len(out), os.WriteFile(path, out, 0o644)
}

// shrink re-encodes a PNG with the same pixels: paletted when it has at
// most 256 colours, best compression always.
func shrink(in []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(in))
	if err != nil {
		return nil, err
	}
	var out image.Image = img
	if p := paletted(img, 256); p != nil {
		out = p
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// paletted returns the image as a paletted one, or nil when it has more
// than max colours or more than 8 bits a channel (a palette holds 8-bit
// colours, so only then is it lossless).
func paletted(img image.Image, max int) *image.Paletted {
	switch img.(type) {
	case *image.NRGBA, *image.RGBA, *image.Paletted, *image.Gray:
	default:
		return nil
	}
	b := img.Bounds()
	p := image.NewPaletted(b, nil)
	index := map[color.NRGBA]uint8{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			i, ok := index[c]
			if !ok {
				if len(p.Palette) == max {
					return nil
				}
				i = uint8(len(p.Palette))
				index[c] = i
				p.Palette = append(p.Palette, c)
			}
			p.SetColorIndex(x, y, i)
		}
	}
	return p
}
