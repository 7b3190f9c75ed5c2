package ociimage

import (
	"debug/elf"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

const glibc = "libc.so.6"

// glibcRuntime are the glibc libraries that a library loaded at run time
// may name although the binary does not: the NVIDIA driver's libnvidia-ml,
// which kis-gpu-exporter dlopens, is linked against older glibc releases
// that kept libpthread, libdl, librt and libm apart from libc. Images of
// glibc binaries carry them, as distroless/base does.
var glibcRuntime = []string{"libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1"}

// platform is what an image config says of the binary's machine.
type platform struct {
	arch    string // GOARCH spelling, as image indexes use
	triplet string // Debian's multiarch directory
}

var platforms = map[elf.Machine]platform{
	elf.EM_X86_64:  {"amd64", "x86_64-linux-gnu"},
	elf.EM_AARCH64: {"arm64", "aarch64-linux-gnu"},
}

// binaryInfo is what the image needs to know of a binary: its platform
// and, when it is linked dynamically, the program interpreter and the
// shared libraries it loads at start (DT_NEEDED, transitively), as paths on
// the build host.
type binaryInfo struct {
	platform
	interpreter string
	libraries   []string
}

func (b binaryInfo) dynamic() bool { return b.interpreter != "" }

// inspect reads the binary's ELF headers and resolves its shared libraries
// under root the way the dynamic loader would without an ld.so.cache: in
// the multiarch directories, then the plain ones. Go binaries carry no
// RUNPATH, so these are the only places a library can come from.
func inspect(root, binary string) (binaryInfo, error) {
	f, err := elf.Open(binary)
	if err != nil {
		return binaryInfo{}, fmt.Errorf("%s: not a Linux executable: %w", binary, err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return binaryInfo{}, fmt.Errorf("%s: an ELF %s, not an executable", binary, f.Type)
	}
	p, ok := platforms[f.Machine]
	if !ok {
		return binaryInfo{}, fmt.Errorf("%s: built for %s; images are built for x86-64 and aarch64", binary, f.Machine)
	}
	info := binaryInfo{platform: p}
	for _, prog := range f.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, prog.Filesz)
		if _, err := prog.ReadAt(b, 0); err != nil {
			return binaryInfo{}, fmt.Errorf("%s: reading its interpreter: %w", binary, err)
		}
		info.interpreter = strings.TrimRight(string(b), "\x00")
	}
	if !info.dynamic() {
		return info, nil
	}
	if _, err := os.Stat(filepath.Join(root, info.interpreter)); err != nil {
		return binaryInfo{}, fmt.Errorf("%s: its interpreter %s is not on this machine: %w", binary, info.interpreter, err)
	}
	dirs := []string{"/lib/" + p.triplet, "/usr/lib/" + p.triplet, "/lib64", "/usr/lib64", "/lib", "/usr/lib"}
	pending, err := neededLibraries(binary)
	if err != nil {
		return binaryInfo{}, err
	}
	if slices.Contains(pending, glibc) {
		pending = append(pending, glibcRuntime...)
	}
	seen := map[string]bool{}
	for len(pending) > 0 {
		soname := pending[0]
		pending = pending[1:]
		if seen[soname] {
			continue
		}
		seen[soname] = true
		lib, err := findLibrary(root, dirs, soname, f.Class, f.Machine)
		if err != nil {
			return binaryInfo{}, fmt.Errorf("%s: %w", binary, err)
		}
		info.libraries = append(info.libraries, lib)
		needed, err := neededLibraries(filepath.Join(root, lib))
		if err != nil {
			return binaryInfo{}, err
		}
		pending = append(pending, needed...)
	}
	return info, nil
}

func neededLibraries(file string) ([]string, error) {
	f, err := elf.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	needed, err := f.ImportedLibraries()
	if err != nil {
		return nil, fmt.Errorf("%s: reading its DT_NEEDED entries: %w", file, err)
	}
	return needed, nil
}

// findLibrary returns the first dirs/soname under root built for the same
// class and machine, as the loader skips libraries of another ABI.
func findLibrary(root string, dirs []string, soname string, class elf.Class, machine elf.Machine) (string, error) {
	for _, dir := range dirs {
		p := path.Join(dir, soname)
		f, err := elf.Open(filepath.Join(root, p))
		if err != nil {
			continue
		}
		matches := f.Class == class && f.Machine == machine
		f.Close()
		if matches {
			return p, nil
		}
	}
	return "", fmt.Errorf("it needs %s, which is in none of %s for %s", soname, strings.Join(dirs, ", "), machine)
}
