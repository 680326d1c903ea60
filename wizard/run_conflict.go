package wizard

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"compozy.dev/setup/wizard/prompt"
)

// answered says the conflict is in the vector DB entry the answers make (not one an existing
// file keeps), so that the answers can resolve it.
func (r *Run) answered(c *Conflict) bool {
	return c.Entry == r.S.VectorID && c.WantDimension == r.S.Dimension
}

// resolve offers the ways out of a vector collection of another shape: use it as it is, name
// another collection (or folder), change the answers, write anyway, quit. Nothing is dropped
// or changed. Without questions it refuses (exit 2) and names the flags that resolve it.
func (r *Run) resolve(ctx context.Context, c *Conflict) (next, error) {
	useFlags := "--dimension " + strconv.Itoa(c.Dimension)
	if c.Metric != "" && c.Metric != c.WantMetric {
		useFlags += " --metric " + c.Metric
	}
	if c.Dimension == c.WantDimension {
		useFlags = "--metric " + c.Metric
	}
	other, otherFlag := "another vector DB id (a new "+c.kind()+" "+c.nameFor("ID")+")", "--vector-id ID"
	if c.Provider == ProviderFilesystem {
		other, otherFlag = "another folder", "--vector-path DIR"
	}
	if !r.opts.Interactive {
		return nextWrite, &RefusedError{fmt.Errorf("vector DB %q: %s %s; nothing was written, and the %s is left as it is: "+
			"pass %s to use it as it is (if the embedding model produces such vectors), or %s to use %s",
			c.Entry, c.What(), c.Differs(), c.kind(), useFlags, otherFlag, other)}
	}
	use := fmt.Sprintf("Use it as it is: dimension %d", c.Dimension)
	if c.Metric != "" {
		use += ", metric " + c.Metric
	}
	for {
		choice, err := r.choose(ctx, "The vector DB already holds a "+c.kind()+" of another shape.",
			fmt.Sprintf("%s %s. Nothing is dropped or changed.", c.What(), c.Differs()),
			use, "Use "+other, "Change the answers", "Write anyway", "Quit without writing")
		if err != nil {
			return nextWrite, err
		}
		switch choice {
		case 0:
			r.S.Dimension = c.Dimension
			if c.Metric != "" {
				r.S.Metric = c.Metric
			}
			return nextAgain, nil
		case 1:
			ok, err := r.askOther(ctx, c)
			if err != nil {
				return nextWrite, err
			}
			if !ok {
				continue // back: the choice again
			}
			return nextAgain, nil
		case 2:
			return nextAsk, nil
		case 3:
			return nextWrite, nil
		}
		return nextWrite, &QuitError{Message: "Nothing was written."}
	}
}

// askOther asks for another vector DB id (or, for the filesystem store, another folder). It
// returns false when the user went back.
func (r *Run) askOther(ctx context.Context, c *Conflict) (bool, error) {
	var q prompt.Question
	var v string
	done := func() {}
	if c.Provider == ProviderFilesystem {
		v = r.S.VectorPath
		q = r.input("Vector store folder", "Another folder than "+c.Target+"; relative to "+r.env.Target.Shown+"'s folder.", &v,
			func(s string) error {
				if err := ValidateFolder(r.base(), s); err != nil {
					return err
				}
				if filepath.Clean(r.abs(strings.TrimSpace(s))) == filepath.Clean(r.abs(r.S.VectorPath)) {
					return errors.New("enter another folder than the one that holds the store")
				}
				return nil
			})
		done = func() { r.S.VectorPath = strings.TrimSpace(v) }
	} else {
		v = r.S.VectorID + "_" + strconv.Itoa(r.S.Dimension)
		q = r.input("Vector DB id", "Knowledge bases refer to it; the "+c.kind()+" is "+c.nameFor("ID")+".", &v,
			func(s string) error {
				if err := ValidateVectorID(s); err != nil {
					return err
				}
				if strings.TrimSpace(s) == r.S.VectorID {
					return errors.New("enter another id than " + r.S.VectorID)
				}
				return nil
			})
		done = func() { r.S.VectorID = strings.TrimSpace(v) }
	}
	q.First = false
	out, err := r.ui.Ask(ctx, q)
	if err != nil {
		return false, err
	}
	if out == prompt.Back {
		return false, nil
	}
	done()
	return true, nil
}

// abs is p relative to the config file's folder.
func (r *Run) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.base(), p)
}
