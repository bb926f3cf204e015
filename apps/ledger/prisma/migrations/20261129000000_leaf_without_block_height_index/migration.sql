-- The leaves of a block are the index range [first_leaf_index, tree_size) of its header. Nothing looks leaves up
-- by block_height, and the index cost every sealed event one more B-tree insert (docs/perf.md).
DROP INDEX "leaf_block_height_idx";
