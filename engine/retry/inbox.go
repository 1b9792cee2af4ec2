package retry

// scheduleOp is one Schedule call waiting in the inbox.
type scheduleOp struct {
	retry  Retry
	due    int64
	action func()
}

// opChunkSize ops per chunk: ~22 KiB, big enough that a storm of retries
// takes few chunk switches.
const opChunkSize = 256

// maxFreeChunks bounds the chunks kept for reuse (~2.8 MiB), so one burst of
// retries does not pin its peak memory for good.
const maxFreeChunks = 128

type opChunk struct {
	ops [opChunkSize]scheduleOp
	n   int
}

// opInbox holds Schedule calls not yet applied to the pending set, in call
// order. It grows by fixed-size chunks, so a backlog never copies what it
// already holds, and recycles them, so steady traffic allocates nothing. It
// is a plain data structure; Scheduler guards it with inboxMu.
type opInbox struct {
	chunks []*opChunk
	spare  []*opChunk // an empty chunk list to hand out on take
	free   []*opChunk
}

func (b *opInbox) add(op scheduleOp) {
	if n := len(b.chunks); n == 0 || b.chunks[n-1].n == opChunkSize {
		b.chunks = append(b.chunks, b.newChunk())
	}
	last := b.chunks[len(b.chunks)-1]
	last.ops[last.n] = op
	last.n++
}

func (b *opInbox) empty() bool { return len(b.chunks) == 0 }

func (b *opInbox) newChunk() *opChunk {
	if n := len(b.free); n > 0 {
		c := b.free[n-1]
		b.free[n-1] = nil
		b.free = b.free[:n-1]
		return c
	}
	return new(opChunk)
}

// take empties the inbox and returns what it held; give it back with
// recycle once applied.
func (b *opInbox) take() []*opChunk {
	taken := b.chunks
	b.chunks, b.spare = b.spare, nil
	return taken
}

// recycle returns taken chunks for reuse, dropping the closures and keys
// they still reference.
func (b *opInbox) recycle(taken []*opChunk) {
	for i, c := range taken {
		if len(b.free) < maxFreeChunks {
			clear(c.ops[:c.n])
			c.n = 0
			b.free = append(b.free, c)
		}
		taken[i] = nil
	}
	if b.spare == nil {
		b.spare = taken[:0]
	}
}

// drop discards everything in the inbox (on Stop).
func (b *opInbox) drop() {
	b.recycle(b.take())
}
