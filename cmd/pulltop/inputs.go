package main

import (
	"os"
	"syscall"
)

// maxTLSFileSize bounds a --ca, --cert or --key file: a PEM chain is a few
// KiB; /dev/zero or a wrong file must be refused, not read forever.
const maxTLSFileSize = 1 << 20

// checkSmallFile refuses, as bad flags, an input file that is not a regular
// file of at most max bytes: a device, a named pipe (opening one with no
// writer would block, so it is opened non-blocking) or a huge file.
func checkSmallFile(flag, path string, max int64) error {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil // the TLS setup names a missing or unreadable file in its own words
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return usageError("%s: %v", flag, err)
	}
	if !fi.Mode().IsRegular() {
		return usageError("%s %s: not a regular file (%s); name the file itself", flag, path, fi.Mode().Type())
	}
	if fi.Size() > max {
		return usageError("%s %s: %d bytes, more than the %d such a file may have; is it the right file?", flag, path, fi.Size(), max)
	}
	return nil
}
