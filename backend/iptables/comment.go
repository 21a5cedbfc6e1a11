package iptables

import "strings"

// maxComment is xt_comment's limit (XT_MAX_COMMENT_LEN - 1).
const maxComment = 255

// comment returns the match arguments for a rule comment.
//
// Names come from the API server (or from files), and a name that broke
// the restore input could inject rules: iptables-restore splits lines on
// whitespace, honours double quotes and backslashes, and treats a line as
// a command. So only a conservative set of bytes survives; anything else,
// including quotes, backslashes, newlines and non-ASCII, becomes '_'. The
// text is double-quoted, so a leading "-A" or "--" is just text, unless
// it is only letters, digits, '_' and '-': iptables-save prints such a
// comment bare, and the rendered rule must be what iptables-save prints
// (parseSave compares rules verbatim), or an unchanged rule would be
// rewritten on every sync (a name truncated before its first space did
// that). It is truncated to the kernel's limit so the restore never
// fails on length.
func comment(text string) string {
	s := sanitizeComment(text)
	if s != "" && strings.Trim(s, bareCommentChars) == "" {
		return `-m comment --comment ` + s
	}
	return `-m comment --comment "` + s + `"`
}

// bareCommentChars are the bytes iptables-save prints unquoted when a
// comment has no other (xtables_save_string).
const bareCommentChars = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func sanitizeComment(text string) string {
	var b strings.Builder
	for i := 0; i < len(text) && b.Len() < maxComment; i++ {
		if c := text[i]; safeCommentByte(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func safeCommentByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte(" ._:/-,=+@[]()", c) >= 0
}
