package sim

import "github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"

// PrefixBlockTokens is the size in tokens of the blocks the prefix cache tracks: the blocks of
// the Mooncake trace's hash ids (Request.PrefixBlocks).
const PrefixBlockTokens = workload.MooncakeBlockTokens

// prefixCache models vLLM's automatic prefix caching on one replica at the granularity of the
// trace's prompt blocks. Every block computed by a prefill is cached under its hash. A block is
// pinned while running sequences use it; a block no running sequence uses is evictable and
// stays cached, in least-recently-used order, only in KV space no running sequence holds:
// evictable blocks × PrefixBlockTokens never exceed the free KV tokens, and all cached blocks
// never exceed the cache's capacity in blocks. A new sequence reuses the longest run of cached
// blocks from the start of its prompt.
//
// The KV the running sequences hold is counted per sequence (Server.kv), without sharing two
// sequences' common blocks, so the model uses no less KV than vLLM does.
type prefixCache struct {
	capacity int // blocks
	entries  map[uint64]*cacheEntry
	// lru is the sentinel of the circular list of evictable entries: lru.next is the least
	// recently used, lru.prev the most recently used.
	lru       cacheEntry
	evictable int
}

type cacheEntry struct {
	hash       uint64
	refs       int
	prev, next *cacheEntry
}

func newPrefixCache(kvTokens int) *prefixCache {
	c := &prefixCache{capacity: kvTokens / PrefixBlockTokens, entries: map[uint64]*cacheEntry{}}
	c.lru.prev, c.lru.next = &c.lru, &c.lru
	return c
}

// blocks returns the number of cached blocks, pinned or evictable.
func (c *prefixCache) blocks() int { return len(c.entries) }

// pin pins the blocks of hashes, creating the missing ones.
func (c *prefixCache) pin(hashes []uint64) {
	for _, h := range hashes {
		e, ok := c.entries[h]
		if !ok {
			e = &cacheEntry{hash: h}
			c.entries[h] = e
		} else if e.refs == 0 {
			c.unlinkLRU(e)
		}
		e.refs++
	}
}

// match returns how many leading blocks of hashes are cached.
func (c *prefixCache) match(hashes []uint64) int {
	for i, h := range hashes {
		if _, ok := c.entries[h]; !ok {
			return i
		}
	}
	return len(hashes)
}

// unpin releases the blocks of hashes; blocks no sequence uses any more become the most
// recently used evictable ones, the last block first, so that a prefix is evicted from its tail
// (as vLLM frees a request's blocks in reverse order).
func (c *prefixCache) unpin(hashes []uint64) {
	for i := len(hashes) - 1; i >= 0; i-- {
		h := hashes[i]
		e := c.entries[h]
		if e == nil || e.refs == 0 {
			continue
		}
		if e.refs--; e.refs == 0 {
			e.prev, e.next = c.lru.prev, &c.lru
			c.lru.prev.next = e
			c.lru.prev = e
			c.evictable++
		}
	}
}

// trim evicts least recently used evictable blocks until the evictable ones fit freeTokens and
// all fit the capacity.
func (c *prefixCache) trim(freeTokens int) {
	for c.evictable > 0 && (c.evictable*PrefixBlockTokens > freeTokens || len(c.entries) > c.capacity) {
		e := c.lru.next
		c.unlinkLRU(e)
		delete(c.entries, e.hash)
	}
}

func (c *prefixCache) unlinkLRU(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	c.evictable--
}
