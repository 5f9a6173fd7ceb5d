package privilege

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func newHelper(bin, op string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PRIVILEGE_HELPER=" + op}
	cmd.Dir = "/"
	return cmd
}

func credential(u localUser) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.Uid), Gid: uint32(u.Gid), Groups: []uint32{uint32(u.Gid)}}}
}

// helper is the attacker, run as a test user (this test binary).
//
// swap DIR TARGET READY: watch DIR with inotify; every file created there
// whose name starts with ".report." is replaced at once by a symbolic
// link to TARGET. When a swapped link has been renamed to report.json
// (root lost the race, the entry would be refused from then on), the
// original report is put back, so that every update is a new chance.
// READY is created when watching starts; the count of swaps goes to
// READY's directory, file "swaps".
func helper(op string) int {
	switch op {
	case "swap":
		dir, target, ready := os.Args[1], os.Args[2], os.Args[3]
		fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
		if err != nil {
			return 2
		}
		if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
			return 2
		}
		dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			return 2
		}
		report, err := os.ReadFile(filepath.Join(dir, "report.json"))
		if err != nil {
			return 2
		}
		if err := os.WriteFile(ready, nil, 0o644); err != nil {
			return 2
		}
		swaps := 0
		buf := make([]byte, 64<<10)
		for {
			n, err := unix.Read(fd, buf)
			if err != nil || n <= 0 {
				return 2
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)], "\x00"))
				off += unix.SizeofInotifyEvent + int(ev.Len)
				var st unix.Stat_t
				if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT == unix.S_IFLNK {
					if name == "report.json" {
						os.WriteFile(filepath.Join(dir, "restore"), report, 0o640)
						unix.Renameat(dfd, "restore", dfd, "report.json")
					}
					continue
				}
				if strings.HasPrefix(name, ".report.") {
					unix.Unlinkat(dfd, name, 0)
					if unix.Symlinkat(target, dfd, name) == nil {
						swaps++
						os.WriteFile(filepath.Join(filepath.Dir(ready), "swaps"), []byte(strconv.Itoa(swaps)+"\n"), 0o644)
					}
				}
			}
		}
	}
	return 2
}
