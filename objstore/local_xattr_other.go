//go:build !linux

package objstore

import "os"

func getETagXattr(*os.File) (string, bool) { return "", false }

func setETagXattr(*os.File, string) bool { return false }
