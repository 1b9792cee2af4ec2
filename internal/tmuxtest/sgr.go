package tmuxtest

import (
	"fmt"
	"strconv"
	"strings"
)

// The colours a terminal uses where a program says "default": those of the
// picture renderer (charmbracelet/freeze's charm theme), so a flattened
// capture rendered by it looks as it did in the terminal.
const (
	DefaultForeground = "#c4c4c4"
	DefaultBackground = "#171717"
)

// sgrState is the style a terminal applies to the next character.
type sgrState struct {
	fg, bg                                  string // "#rrggbb", "" for the default
	bold, faint, italic, underline, reverse bool
	strike                                  bool
}

// FlattenColour rewrites a CaptureColour screen so that every run of text
// carries its whole style in one SGR sequence, with explicit colours:
// reverse video becomes swapped foreground and background, "default" and
// the 16- and 256-colour palettes become RGB, faint becomes a dimmer
// colour. A terminal draws the result as it drew the original; renderers
// that understand only plain colour sequences (freeze ignores reverse
// video, resets, and 40–47 backgrounds) draw it right too.
func FlattenColour(screen string) string {
	var out strings.Builder
	var cur sgrState
	emitted := sgrState{}
	pendingStyle := false
	for i := 0; i < len(screen); {
		c := screen[i]
		if c == 0x1b && i+1 < len(screen) && screen[i+1] == '[' {
			j := i + 2
			for j < len(screen) && (screen[j] >= '0' && screen[j] <= '9' || screen[j] == ';' || screen[j] == ':') {
				j++
			}
			if j < len(screen) && screen[j] == 'm' {
				cur.apply(screen[i+2 : j])
				pendingStyle = true
			}
			// Other CSI sequences do not draw anything: dropped.
			i = j + 1
			continue
		}
		if c == 0x1b {
			// OSC (hyperlinks) and lone escapes: dropped up to their end.
			i = skipEscape(screen, i)
			continue
		}
		if c == '\n' {
			// Styles do not carry across lines in a renderer that resets
			// at each line; restate them on the next character.
			if emitted != (sgrState{}) {
				out.WriteString("\x1b[0m")
				emitted = sgrState{}
			}
			out.WriteByte('\n')
			pendingStyle = true
			i++
			continue
		}
		if pendingStyle && cur != emitted {
			out.WriteString(cur.sequence())
			emitted = cur
		}
		pendingStyle = false
		out.WriteByte(c)
		i++
	}
	if emitted != (sgrState{}) {
		out.WriteString("\x1b[0m")
	}
	return out.String()
}

// skipEscape returns the index after the escape sequence at i: an OSC up
// to BEL or ST, otherwise the escape and the byte after it.
func skipEscape(s string, i int) int {
	if i+1 < len(s) && s[i+1] == ']' {
		for j := i + 2; j < len(s); j++ {
			if s[j] == 0x07 {
				return j + 1
			}
			if s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\' {
				return j + 2
			}
		}
		return len(s)
	}
	return min(i+2, len(s))
}

// apply updates the state with one SGR parameter list ("1;38;2;1;2;3").
func (s *sgrState) apply(params string) {
	if params == "" {
		*s = sgrState{}
		return
	}
	ps := strings.FieldsFunc(params, func(r rune) bool { return r == ';' || r == ':' })
	n := func(k int) int {
		if k >= len(ps) {
			return -1
		}
		v, err := strconv.Atoi(ps[k])
		if err != nil {
			return -1
		}
		return v
	}
	for k := 0; k < len(ps); k++ {
		switch v := n(k); {
		case v == 0:
			*s = sgrState{}
		case v == 1:
			s.bold = true
		case v == 2:
			s.faint = true
		case v == 3:
			s.italic = true
		case v == 4:
			s.underline = true
		case v == 7:
			s.reverse = true
		case v == 9:
			s.strike = true
		case v == 22:
			s.bold, s.faint = false, false
		case v == 23:
			s.italic = false
		case v == 24:
			s.underline = false
		case v == 27:
			s.reverse = false
		case v == 29:
			s.strike = false
		case v >= 30 && v <= 37:
			s.fg = basicColours[v-30]
		case v >= 90 && v <= 97:
			s.fg = basicColours[v-90+8]
		case v == 39:
			s.fg = ""
		case v >= 40 && v <= 47:
			s.bg = basicColours[v-40]
		case v >= 100 && v <= 107:
			s.bg = basicColours[v-100+8]
		case v == 49:
			s.bg = ""
		case v == 38 || v == 48:
			var colour string
			switch n(k + 1) {
			case 5:
				colour = xterm256(n(k + 2))
				k += 2
			case 2:
				colour = rgb(n(k+2), n(k+3), n(k+4))
				k += 4
			}
			if v == 38 {
				s.fg = colour
			} else {
				s.bg = colour
			}
		}
	}
}

// sequence is the one SGR sequence that sets the whole state from scratch.
func (s sgrState) sequence() string {
	fg, bg := s.fg, s.bg
	if fg == "" {
		fg = DefaultForeground
	}
	if bg == "" {
		bg = DefaultBackground
	}
	if s.reverse {
		fg, bg = bg, fg
	}
	if s.faint {
		fg = mix(fg, bg)
	}
	seq := []string{"0"}
	for _, a := range []struct {
		on   bool
		code string
	}{{s.bold, "1"}, {s.italic, "3"}, {s.underline, "4"}, {s.strike, "9"}} {
		if a.on {
			seq = append(seq, a.code)
		}
	}
	if fg != DefaultForeground {
		seq = append(seq, "38;2;"+rgbParams(fg))
	}
	if bg != DefaultBackground {
		seq = append(seq, "48;2;"+rgbParams(bg))
	}
	return "\x1b[" + strings.Join(seq, ";") + "m"
}

// basicColours are the 16 palette colours as freeze draws them.
var basicColours = [16]string{
	"#282a2e", "#d74e6f", "#31bb71", "#d3e561", "#8056ff", "#ed61d7", "#04d7d7", "#c5c8c6",
	"#4b4b4b", "#fe5f86", "#00d787", "#ebff71", "#8f69ff", "#ff7aea", "#00fefe", "#ffffff",
}

func xterm256(n int) string {
	switch {
	case n < 0 || n > 255:
		return ""
	case n < 16:
		return basicColours[n]
	case n < 232:
		n -= 16
		level := func(v int) int {
			if v == 0 {
				return 0
			}
			return 55 + 40*v
		}
		return rgb(level(n/36), level(n/6%6), level(n%6))
	default:
		g := 8 + 10*(n-232)
		return rgb(g, g, g)
	}
}

func rgb(r, g, b int) string {
	if r < 0 || g < 0 || b < 0 {
		return ""
	}
	return fmt.Sprintf("#%02x%02x%02x", r&0xff, g&0xff, b&0xff)
}

func parseRGB(c string) (r, g, b int) {
	v, _ := strconv.ParseUint(strings.TrimPrefix(c, "#"), 16, 32)
	return int(v >> 16 & 0xff), int(v >> 8 & 0xff), int(v & 0xff)
}

func rgbParams(c string) string {
	r, g, b := parseRGB(c)
	return fmt.Sprintf("%d;%d;%d", r, g, b)
}

// mix is halfway between two colours: faint text.
func mix(a, b string) string {
	ar, ag, ab := parseRGB(a)
	br, bg, bb := parseRGB(b)
	return rgb((ar+br)/2, (ag+bg)/2, (ab+bb)/2)
}
