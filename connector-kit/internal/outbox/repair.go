package outbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files of a repair in progress, inside the outbox directory: the new
// segments are written to repairDir, and repairCommit marks them complete.
// Open finishes a committed repair and discards an uncommitted one, so a
// crash during a repair loses nothing.
const (
	repairDir    = "repair.tmp"
	repairCommit = "COMMIT"
)

// RepairResult is what [Repair] did.
type RepairResult struct {
	// Report is what was found before the repair.
	Report *Report
	// Kept counts the intact records kept (renumbered from the floor on).
	Kept int
	// Quarantine is the folder, beside the outbox, holding the damaged
	// bytes (one file per span) and a report; "" when nothing was set
	// aside.
	Quarantine string
	// Files are the quarantined spans' files.
	Files []string
}

// Repair keeps every intact record of the outbox in dir and sets the
// damaged bytes aside, so the outbox opens again: each damaged span (and a
// torn tail) is copied to a file in the folder <dir>.quarantine beside the
// outbox, with a report naming the records lost; the intact records above
// the acked floor are written to new segments, in their order, numbered
// from the floor on (sequence numbers are the outbox's own; record ids do
// not change, so the hub still stores each record once). A damaged floor
// file is replaced by 0: every intact record is sent again and the hub
// answers duplicate for those it has. The switch to the new segments is
// committed atomically; a crash midway leaves the old outbox or the
// repaired one, never a mix. Repair takes the directory's lock; it returns
// an error wrapping [ErrLocked] while a connector has the outbox open.
func Repair(dir string, opts ...Option) (*RepairResult, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if err := resumeRepair(dir); err != nil {
		return nil, err
	}
	rep, err := check(dir)
	if err != nil {
		return nil, err
	}
	res := &RepairResult{Report: rep, Kept: rep.Intact}
	if !rep.Damaged() && rep.TornTail == nil {
		return res, nil
	}
	if err := res.quarantine(dir, time.Now().UTC()); err != nil {
		return nil, err
	}
	if err := rewrite(dir, rep, o.segmentBytes); err != nil {
		return nil, err
	}
	if err := resumeRepair(dir); err != nil {
		return nil, err
	}
	o.logger.Warn("outbox: repaired", "dir", dir, "kept", res.Kept, "damaged_spans", len(rep.Damage), "quarantine", res.Quarantine)
	return res, nil
}

// quarantine copies every damaged span and the torn tail to files in
// <dir>.quarantine, with a report, all fsynced.
func (r *RepairResult) quarantine(dir string, now time.Time) error {
	spans := append([]Damage(nil), r.Report.Damage...)
	if r.Report.TornTail != nil {
		spans = append(spans, *r.Report.TornTail)
	}
	q := filepath.Clean(dir) + ".quarantine"
	if err := os.MkdirAll(q, 0o700); err != nil {
		return fmt.Errorf("outbox: quarantine folder: %w", err)
	}
	stamp := now.Format("20060102T150405Z")
	var report strings.Builder
	fmt.Fprintf(&report, "outbox %s repaired at %s: %d intact records kept\n", dir, now.Format(time.RFC3339), r.Kept)
	if r.Report.FloorDamaged {
		report.WriteString("the acked floor file was damaged and is replaced by 0: every intact record is sent again (the hub stores each once)\n")
	}
	for _, p := range r.Report.Problems {
		fmt.Fprintf(&report, "problem: %s\n", p)
	}
	for _, d := range spans {
		name := fmt.Sprintf("%s-%s-%d.bin", stamp, filepath.Base(d.File), d.Offset)
		path := filepath.Join(q, name)
		if err := copySpan(d, path); err != nil {
			return err
		}
		r.Files = append(r.Files, path)
		fmt.Fprintf(&report, "%s: %s offset %d, %d bytes: %s; %s\n", name, d.File, d.Offset, d.Length, d.Reason, d.Lost())
	}
	rp := filepath.Join(q, stamp+"-report.txt")
	if err := writeSynced(rp, []byte(report.String())); err != nil {
		return err
	}
	r.Files = append(r.Files, rp)
	r.Quarantine = q
	if err := syncDir(q); err != nil {
		return fmt.Errorf("outbox: quarantine folder: %w", err)
	}
	return nil
}

func copySpan(d Damage, to string) error {
	f, err := os.Open(d.File)
	if err != nil {
		return fmt.Errorf("outbox: quarantine: %w", err)
	}
	defer f.Close()
	b := make([]byte, d.Length)
	if _, err := f.ReadAt(b, d.Offset); err != nil {
		return fmt.Errorf("outbox: quarantine: read %s: %w", d.File, err)
	}
	return writeSynced(to, b)
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("outbox: write %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("outbox: write %s: %w", path, err)
	}
	return nil
}

// rewrite writes the intact records above the floor to new segments in
// dir/repair.tmp, numbered from the floor on, with the floor file, and
// commits them.
func rewrite(dir string, rep *Report, segmentBytes int64) error {
	tmp := filepath.Join(dir, repairDir)
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("outbox: repair: %w", err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("outbox: repair: %w", err)
	}
	seq := rep.Floor + 1
	var (
		out      *os.File
		outSize  int64
		buf      []byte
		manifest []string // the new segments' names
	)
	closeOut := func() error {
		if out == nil {
			return nil
		}
		err := out.Sync()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		out = nil
		return err
	}
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
		if out != nil {
			out.Close()
		}
	}()
	for _, fr := range rep.frames {
		in := files[fr.seg]
		if in == nil {
			f, err := os.Open(fr.seg)
			if err != nil {
				return fmt.Errorf("outbox: repair: %w", err)
			}
			files[fr.seg], in = f, f
		}
		raw := make([]byte, fr.size)
		if _, err := in.ReadAt(raw, fr.off); err != nil {
			return fmt.Errorf("outbox: repair: read %s: %w", fr.seg, err)
		}
		_, e, err := decodePayload(raw[frameHeaderSize:])
		if err != nil {
			return fmt.Errorf("outbox: repair: %s offset %d: %w", fr.seg, fr.off, err)
		}
		plen := payloadSize(e)
		if out == nil || (outSize > 0 && outSize+int64(frameHeaderSize+plen) > segmentBytes) {
			if err := closeOut(); err != nil {
				return fmt.Errorf("outbox: repair: %w", err)
			}
			f, err := os.OpenFile(filepath.Join(tmp, segmentName(seq)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("outbox: repair: %w", err)
			}
			out, outSize = f, 0
			manifest = append(manifest, segmentName(seq))
		}
		buf = appendFrame(buf[:0], seq, e, plen)
		if _, err := out.Write(buf); err != nil {
			return fmt.Errorf("outbox: repair: write: %w", err)
		}
		outSize += int64(len(buf))
		seq++
	}
	if err := closeOut(); err != nil {
		return fmt.Errorf("outbox: repair: %w", err)
	}
	if err := writeFloor(tmp, rep.Floor); err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return fmt.Errorf("outbox: repair: %w", err)
	}
	// The commit mark lists the new segments: finishing a repair after a
	// crash tells them from the old ones by it.
	if err := writeSynced(filepath.Join(tmp, repairCommit), []byte(strings.Join(manifest, "\n"))); err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return fmt.Errorf("outbox: repair: %w", err)
	}
	return nil
}

// resumeRepair finishes a committed repair (replace the segments and the
// floor by the repaired ones) and discards one that was not committed. Each
// step can be done again after a crash. The caller holds the directory's
// lock.
func resumeRepair(dir string) error {
	tmp := filepath.Join(dir, repairDir)
	mark, err := os.ReadFile(filepath.Join(tmp, repairCommit))
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.RemoveAll(tmp); err != nil {
			return fmt.Errorf("outbox: discard unfinished repair: %w", err)
		}
		return nil
	} else if err != nil {
		return fmt.Errorf("outbox: repair: %w", err)
	}
	keep := map[string]bool{}
	for _, name := range strings.Fields(string(mark)) {
		keep[name] = true
		// Replaces an old segment of the same name atomically; already
		// moved before a crash when absent.
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("outbox: repair: %w", err)
		}
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("outbox: repair: %w", err)
	}
	for _, de := range des {
		if name := de.Name(); strings.HasSuffix(name, segmentExt) && !de.IsDir() && !keep[name] {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("outbox: repair: %w", err)
			}
		}
	}
	if err := os.Rename(filepath.Join(tmp, floorFile), filepath.Join(dir, floorFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("outbox: repair: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("outbox: repair: %w", err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("outbox: repair: %w", err)
	}
	return syncDir(dir)
}
