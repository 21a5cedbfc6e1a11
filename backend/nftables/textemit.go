package nftables

import (
	"fmt"
	"strings"
)

// textEmitter prints a transaction as nft commands, the form Diff shows.
type textEmitter struct{ b strings.Builder }

func (w *textEmitter) line(format string, args ...any) { fmt.Fprintf(&w.b, format+"\n", args...) }

func (w *textEmitter) addTable(t *table) {
	w.line("add table %s %s", familyKeyword(t.family), TableName)
}
func (w *textEmitter) delTable(t *table) {
	w.line("delete table %s %s", familyKeyword(t.family), TableName)
}

func (w *textEmitter) addSet(t *table, s *set) {
	w.line("add %s %s %s %s { %s; }", s.keyword(), familyKeyword(t.family), TableName, s.name,
		strings.Join(s.declLines(t.family), "; "))
}

func (w *textEmitter) delSet(t *table, s *set) {
	w.line("delete %s %s %s %s", s.keyword(), familyKeyword(t.family), TableName, s.name)
}

func (w *textEmitter) flushSet(t *table, s *set) {
	w.line("flush %s %s %s %s", s.keyword(), familyKeyword(t.family), TableName, s.name)
}

func (w *textEmitter) addElems(t *table, s *set, es []elem) {
	for _, e := range es {
		w.line("add element %s %s %s { %s }", familyKeyword(t.family), TableName, s.name, e.text())
	}
}

func (w *textEmitter) delElems(t *table, s *set, es []elem) {
	for _, e := range es {
		w.line("delete element %s %s %s { %s }", familyKeyword(t.family), TableName, s.name, e.key())
	}
}

func (w *textEmitter) addChain(t *table, c *chain) {
	if c.hook != nil {
		w.line("add chain %s %s %s { %s }", familyKeyword(t.family), TableName, c.name, c.hook.text())
		return
	}
	w.line("add chain %s %s %s", familyKeyword(t.family), TableName, c.name)
}

func (w *textEmitter) flushChain(t *table, c *chain) {
	w.line("flush chain %s %s %s", familyKeyword(t.family), TableName, c.name)
}

func (w *textEmitter) delChain(t *table, c *chain) {
	w.line("delete chain %s %s %s", familyKeyword(t.family), TableName, c.name)
}

func (w *textEmitter) addRules(t *table, c *chain) {
	for _, r := range c.rules {
		w.line("add rule %s %s %s %s", familyKeyword(t.family), TableName, c.name, r.text(t.family))
	}
}
