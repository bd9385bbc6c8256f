//go:build !(js && wasm)

package browser

import "sync"

// Outside a browser localStorage is an in-memory map, so native tests of the
// UI logic can sign in and out.
var memStorage sync.Map

// StorageGet returns the stored value for key and whether it exists.
func StorageGet(key string) (string, bool) {
	v, ok := memStorage.Load(key)
	if !ok {
		return "", false
	}
	return v.(string), true
}

// StorageSet stores value under key.
func StorageSet(key, value string) error {
	memStorage.Store(key, value)
	return nil
}

// StorageRemove deletes key.
func StorageRemove(key string) { memStorage.Delete(key) }
