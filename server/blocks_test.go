package main

import "testing"

// TestMaxBlocksFlag: -max-blocks and PARLEY_MAX_BLOCKS set the block list
// maximum (default 1000); less than one is refused.
func TestMaxBlocksFlag(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    int
		wantErr string
	}{
		{name: "default", want: 1000},
		{name: "environment", env: map[string]string{"PARLEY_MAX_BLOCKS": "20"}, want: 20},
		{name: "flag overrides", args: []string{"-max-blocks", "5"}, env: map[string]string{"PARLEY_MAX_BLOCKS": "20"}, want: 5},
		{name: "zero", args: []string{"-max-blocks", "0"}, wantErr: "max-blocks"},
		{name: "bad env", env: map[string]string{"PARLEY_MAX_BLOCKS": "lots"}, wantErr: "PARLEY_MAX_BLOCKS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseCase(t, tc.args, tc.env, tc.wantErr)
			if ok && got.maxBlocks != tc.want {
				t.Errorf("maxBlocks = %d, want %d", got.maxBlocks, tc.want)
			}
		})
	}
}
