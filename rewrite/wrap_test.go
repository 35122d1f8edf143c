package rewrite

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWrapLine(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, in, want string }{
		{
			name: "continuation of a call opened on the line before",
			in:   "\t\t\t\t    to_netdev_notifier_change_info_ext(change_info)->old_flags, event_dev->flags);",
			want: "\t\t\t\t    to_netdev_notifier_change_info_ext(change_info)->old_flags,\n\t\t\t\t    event_dev->flags);",
		},
		{
			name: "aligned with the open parenthesis",
			in:   "\tnetdev_info(event_dev, \"flags %#x -> %#x\\n\", to_netdev_notifier_change_info_ext(change_info)->old_flags);",
			want: "\tnetdev_info(event_dev, \"flags %#x -> %#x\\n\",\n\t\t    to_netdev_notifier_change_info_ext(change_info)->old_flags);",
		},
		{
			name: "a comma inside a string is no break",
			in:   "\tpr_info(\"" + strings.Repeat("a, ", 40) + "\");",
			want: "\tpr_info(\"" + strings.Repeat("a, ", 40) + "\");",
		},
		{
			name: "after a binary operator, aligned with the condition",
			in:   "\t\t\tif (to_netdev_notifier_change_info_ext(change_info)->flags_changed & IFF_NOARP || up)",
			want: "\t\t\tif (to_netdev_notifier_change_info_ext(change_info)->flags_changed &\n\t\t\t    IFF_NOARP || up)",
		},
		{
			name: "no break inside ->",
			in:   "\t\t\t\t\t\t\treturn a_very_long_function_name_for_testing_purposes(xx)->another_long_member_name_here",
			want: "\t\t\t\t\t\t\treturn a_very_long_function_name_for_testing_purposes(xx)->another_long_member_name_here",
		},
		{
			name: "a macro body line keeps its continuation",
			in:   "\tif (conn_get_bytes_of_the_connection(c) > CONN_A_VERY_LONG_LIMIT_NAME_FOR_TESTING && (c)->bytes > 1000000) \\",
			want: "\tif (conn_get_bytes_of_the_connection(c) > CONN_A_VERY_LONG_LIMIT_NAME_FOR_TESTING && (c)->bytes > 1000000) \\",
		},
		{
			name: "no break inside a trailing // comment, only before it",
			in:   "\tconn_set_closing_state(c, true); // see conn_destroy, which sets it first, and conn_close too",
			want: "\tconn_set_closing_state(c,\n\t\t\t       true); // see conn_destroy, which sets it first, and conn_close too",
		},
		{
			name: "short lines stay",
			in:   "\tfoo(a, b);",
			want: "\tfoo(a, b);",
		},
		{
			name: "preprocessor lines stay",
			in:   "#define X(a) " + strings.Repeat("f(a), ", 20),
			want: "#define X(a) " + strings.Repeat("f(a), ", 20),
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := wrapLine(c.in)
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, l := range strings.Split(got, "\n") {
				if columns(l) > maxColumns && got != c.in {
					t.Errorf("still too long: %q", l)
				}
			}
		})
	}
}
