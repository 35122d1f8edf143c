package kbuild

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CmdFile is what kbuild records about one object in dir/.file.o.cmd.
type CmdFile struct {
	Object  string   // object path relative to the object tree ("drivers/net/bonding/bond_main.o")
	Command string   // the shell command that built it
	Source  string   // source path as kbuild wrote it (absolute for O= builds)
	Deps    []string // headers and sources the object was built from, as written
}

// ReadCmdFile parses a .cmd file.
func ReadCmdFile(path string) (*CmdFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseCmdFile(string(data))
}

// ParseCmdFile parses the text of a .cmd file.
func ParseCmdFile(text string) (*CmdFile, error) {
	c := &CmdFile{}
	text = strings.ReplaceAll(text, "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "cmd_"), strings.HasPrefix(line, "savedcmd_"): // savedcmd_ from Linux 6.3 on
			k, v, ok := strings.Cut(line, " := ")
			if !ok {
				continue
			}
			c.Object = strings.TrimPrefix(strings.TrimPrefix(k, "saved"), "cmd_")
			c.Command = v
		case strings.HasPrefix(line, "source_"):
			_, v, _ := strings.Cut(line, " := ")
			c.Source = strings.TrimSpace(v)
		case strings.HasPrefix(line, "deps_"):
			_, v, _ := strings.Cut(line, " := ")
			for _, d := range strings.Fields(v) {
				if strings.HasPrefix(d, "$(wildcard") || strings.HasPrefix(d, "include/config/") || strings.HasSuffix(d, ")") {
					continue
				}
				c.Deps = append(c.Deps, d)
			}
		}
	}
	if c.Command == "" {
		return nil, fmt.Errorf("no cmd_ or savedcmd_ line")
	}
	return c, nil
}

// CompilerArgs returns the compiler invocation of the command: the first
// shell command of the line (kbuild appends objtool and other steps after
// ';'), split into arguments.
func (c *CmdFile) CompilerArgs() ([]string, error) {
	words, err := ShellSplit(c.Command)
	if err != nil {
		return nil, err
	}
	for i, w := range words {
		if w == ";" || w == "&&" || w == "||" || w == "|" {
			return words[:i], nil
		}
	}
	return words, nil
}

// ShellSplit splits a POSIX shell command line into words. Separators
// (";", "&&", "||", "|") become words of their own. It does not expand
// variables; kbuild command lines do not use them.
func ShellSplit(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			out = append(out, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			flush()
		case c == ';':
			flush()
			out = append(out, ";")
		case c == '&' && i+1 < len(s) && s[i+1] == '&', c == '|' && i+1 < len(s) && s[i+1] == '|':
			flush()
			out = append(out, s[i:i+2])
			i++
		case c == '|':
			flush()
			out = append(out, "|")
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in command")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`\n", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated \" in command")
			}
		case c == '\\' && i+1 < len(s):
			inWord = true
			i++
			cur.WriteByte(s[i])
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	flush()
	return out, nil
}

// cmdPath returns where kbuild keeps the .cmd file of an object.
func cmdPath(objTree, obj string) string {
	dir, file := filepath.Split(obj)
	return filepath.Join(objTree, dir, "."+file+".cmd")
}
