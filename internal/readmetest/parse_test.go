package readmetest

import "testing"

func TestParse(t *testing.T) {
	const md = "intro\n\n```sh\nmake run   # keeps running: the hub\nTOKEN=$(cat t)\n" +
		"bin/hub x --a 'b # c' \\\n  --d e     # joined\n# → refused      (exit status 1)\n\n" +
		"make test  # (not run by the README test: it runs this)\n```\n\n" +
		"> Not run by the README test: needs a broken log.\n\n```sh\nbin/hub audit seal\n```\n\n```\nnot shell\n```\n"
	bs := parse(md)
	if len(bs) != 2 {
		t.Fatalf("%d blocks, want 2: %+v", len(bs), bs)
	}
	c := bs[0].cmds
	if len(c) != 4 || !c[0].background || c[0].text != "make run" || c[1].text != "TOKEN=$(cat t)" {
		t.Fatalf("commands %+v", c)
	}
	if c[2].text != "bin/hub x --a 'b # c'  --d e" || c[2].want != 1 || c[2].background {
		t.Fatalf("joined command %+v", c[2])
	}
	if c[3].skip == "" || bs[0].skip != "" {
		t.Fatalf("a line marked not run: %+v", c[3])
	}
	if bs[1].skip == "" || bs[1].cmds[0].text != "bin/hub audit seal" {
		t.Fatalf("a block marked not run: %+v", bs[1])
	}
}
