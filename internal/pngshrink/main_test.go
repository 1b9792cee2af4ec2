package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

func encode(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// samePixels fails unless a and b decode to the same colours everywhere.
func samePixels(t *testing.T, a, b []byte) image.Image {
	t.Helper()
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if ia.Bounds() != ib.Bounds() {
		t.Fatalf("bounds %v, want %v", ib.Bounds(), ia.Bounds())
	}
	for y := ia.Bounds().Min.Y; y < ia.Bounds().Max.Y; y++ {
		for x := ia.Bounds().Min.X; x < ia.Bounds().Max.X; x++ {
			ca := color.NRGBA64Model.Convert(ia.At(x, y))
			cb := color.NRGBA64Model.Convert(ib.At(x, y))
			if ca != cb {
				t.Fatalf("pixel (%d,%d) is %v, was %v", x, y, cb, ca)
			}
		}
	}
	return ib
}

func TestShrinkFewColoursIsPalettedAndLossless(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 300; x++ {
			// 200 colours, some half transparent, in stripes like text.
			v := uint8((x/3 + y) % 200)
			img.Set(x, y, color.NRGBA{v, 255 - v, v / 2, 128 + v%2*127})
		}
	}
	in := encode(t, img)
	out, err := shrink(in)
	if err != nil {
		t.Fatal(err)
	}
	got := samePixels(t, in, out)
	if _, ok := got.(*image.Paletted); !ok {
		t.Fatalf("decoded as %T, want a paletted PNG", got)
	}
	if len(out) >= len(in) {
		t.Fatalf("%d bytes, not smaller than %d", len(out), len(in))
	}
}

func TestShrinkManyColoursStaysLossless(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 4), uint8(y * 4), uint8(x ^ y), 255})
		}
	}
	in := encode(t, img)
	out, err := shrink(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := samePixels(t, in, out).(*image.Paletted); ok {
		t.Fatal("4096 colours cannot be paletted")
	}
}

func TestShrinkRefusesNonPNG(t *testing.T) {
	if _, err := shrink([]byte("not a png")); err == nil {
		t.Fatal("no error for a file that is not a PNG")
	}
}
