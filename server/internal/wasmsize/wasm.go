package main

import (
	"bytes"
	"errors"
	"fmt"
)

// module is what the report needs of a wasm binary.
type module struct {
	total int            // bytes of the whole file
	data  int            // bytes of the data section (Go's read-only data, tables, strings)
	code  int            // bytes of the code section
	funcs map[string]int // function name → body bytes
	named int            // bodies that have a name
}

// Section ids of the WebAssembly binary format.
const (
	secCustom = 0
	secImport = 2
	secCode   = 10
	secData   = 11
)

var wasmHeader = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

// parse reads the sections of a wasm binary: the bodies' sizes from the code
// section, their names from the "name" section's function names (whose
// indices count the imported functions first).
func parse(b []byte) (*module, error) {
	if !bytes.HasPrefix(b, wasmHeader) {
		return nil, errors.New("not a WebAssembly binary (version 1)")
	}
	m := &module{total: len(b), funcs: map[string]int{}}
	var sizes []int
	names := map[int]string{}
	imported := 0
	r := reader{b: b, i: len(wasmHeader)}
	for !r.done() {
		id := r.byte()
		n := r.u32()
		body := r.bytes(n)
		if r.err != nil {
			return nil, r.err
		}
		s := reader{b: body}
		switch id {
		case secImport:
			imported = countFuncImports(&s)
		case secCode:
			m.code = len(body)
			for count := s.u32(); count > 0 && s.err == nil; count-- {
				size := s.u32()
				s.bytes(size)
				sizes = append(sizes, size)
			}
		case secData:
			m.data += len(body)
		case secCustom:
			if s.name() == "name" {
				readFuncNames(&s, names)
			}
		}
		if s.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, s.err)
		}
	}
	for i, size := range sizes {
		name, ok := names[imported+i]
		if ok {
			m.named++
		} else {
			name = fmt.Sprintf("func[%d]", imported+i)
		}
		m.funcs[name] += size
	}
	return m, nil
}

// countFuncImports returns how many of the import section's entries are
// functions.
func countFuncImports(s *reader) int {
	funcs := 0
	for count := s.u32(); count > 0 && s.err == nil; count-- {
		s.name() // module
		s.name() // field
		switch kind := s.byte(); kind {
		case 0: // function: its type index
			s.u32()
			funcs++
		case 1: // table: element type, limits
			s.byte()
			s.limits()
		case 2: // memory: limits
			s.limits()
		case 3: // global: value type, mutability
			s.byte()
			s.byte()
		default:
			s.err = fmt.Errorf("import of unknown kind %d", kind)
		}
	}
	return funcs
}

// readFuncNames reads the function-names subsection (id 1) of a "name"
// section into names.
func readFuncNames(s *reader, names map[int]string) {
	for !s.done() && s.err == nil {
		id := s.byte()
		sub := reader{b: s.bytes(s.u32())}
		if id != 1 {
			continue
		}
		for count := sub.u32(); count > 0 && sub.err == nil; count-- {
			idx := sub.u32()
			names[idx] = sub.name()
		}
		if sub.err != nil {
			s.err = sub.err
		}
	}
}

// reader decodes the binary format's LEB128 integers, names and spans; the
// first error sticks and every later read returns zero values.
type reader struct {
	b   []byte
	i   int
	err error
}

var errShort = errors.New("truncated")

func (r *reader) done() bool { return r.err != nil || r.i >= len(r.b) }

func (r *reader) byte() byte {
	if r.err != nil || r.i >= len(r.b) {
		r.fail()
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

func (r *reader) u32() int {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int(v)
		}
	}
	if r.err == nil {
		r.err = errors.New("integer too long")
	}
	return 0
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.i {
		r.fail()
		return nil
	}
	p := r.b[r.i : r.i+n]
	r.i += n
	return p
}

func (r *reader) name() string { return string(r.bytes(r.u32())) }

// limits skips a table's or memory's limits: flags, minimum, maximum if
// flagged.
func (r *reader) limits() {
	hasMax := r.byte()&1 != 0
	r.u32()
	if hasMax {
		r.u32()
	}
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errShort
	}
}
