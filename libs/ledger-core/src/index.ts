export * from './errors';
export { bytesEqual, fromBase64, fromHex, isWellFormedUnicode, toBase64, toHex } from './encoding';
export { MAX_LEVEL, MAX_TREE_SIZE, type NodeId } from './tree-math';
export * from './hash';
export {
  CompactRange,
  type CompactRangeState,
  frontierNodeIds,
  isHash,
  rootFromFrontier,
  rootFromLeafHashes,
} from './merkle';
export * from './memory-tree';
export * from './proof';
export * from './tiles';
export * from './jcs';
export * from './keys';
export * from './note';
export * from './checkpoint';
export * from './block';
export * from './key-change';
export * from './leaf';
export * from './origin';
export * from './receipt';
export * from './cosignature';
export * from './witness';
