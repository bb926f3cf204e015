import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  blockHash,
  createSigner,
  signCheckpoint,
  signHeader,
  signKeyChange,
  verifierKey,
  type NoteSigner,
} from '@medledger/ledger-core';
import { ConfigError } from '@medledger/platform';
import { LEDGER_CONFIG, type LedgerConfig } from '../ledger.config';
import { LedgerRepository, type StoredBlock } from './ledger.repository';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** The ledger was started with a key that is not the chain's, and no key change was configured. */
export const FOREIGN_SIGNING_KEY = 'LEDGER.FOREIGN_SIGNING_KEY';

/** Refuses to start: the message names both keys and what would make the start legitimate. */
export class ForeignSigningKeyError extends Error {
  override readonly name = 'ForeignSigningKeyError';
  readonly code = FOREIGN_SIGNING_KEY;

  constructor(message: string) {
    super(`${FOREIGN_SIGNING_KEY}: ${message}`);
  }
}

/**
 * The ledger's signing key (Ed25519, named after the origin). From LEDGER_SIGNING_KEY (base64 seed); outside
 * production a development key is created once under KEYS_DIR with a warning. Every key ever used is
 * registered in the database so /v1/keys can list it and old blocks keep verifying after a rotation.
 *
 * One key signs at a time (docs/design/ledger-format.md §5.1): a key that is not the newest block's refuses to
 * start, unless LEDGER_PREVIOUS_SIGNING_KEY is the newest block's key, which then signs the key change record
 * that the next block carries.
 */
@Injectable()
export class LedgerSigner implements OnModuleInit {
  private readonly logger = new Logger(LedgerSigner.name);
  readonly signer: NoteSigner;
  /** The key change record the next block carries, and its height (none when the key is the chain's). */
  private keyChange: { height: number; record: string } | undefined;

  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly repository: LedgerRepository,
  ) {
    this.signer = createSigner(config.LEDGER_ORIGIN, this.loadSeed());
  }

  async onModuleInit(): Promise<void> {
    // Before the key is registered: a refused key leaves no trace in the database.
    await this.checkChainKey();
    await this.repository.registerKey(this.signer.keyId, this.signer.name, this.signer.publicKey);
    this.logger.log({ keyId: this.signer.keyId, name: this.signer.name }, 'ledger signing key ready');
  }

  /**
   * The newest block's key must be this key, or hand over to it. The record is made from the newest block each
   * start and written only with the block that carries it, so a restart before that block signs it again
   * (deterministically) and a rotation is never half done.
   */
  private async checkChainKey(): Promise<void> {
    const head = await this.repository.head();
    if (!head || head.keyId === this.signer.keyId) {
      if (head && this.config.LEDGER_PREVIOUS_SIGNING_KEY) {
        this.logger.log('LEDGER_PREVIOUS_SIGNING_KEY is set but the chain is already signed by this key: unneeded');
      }
      return;
    }
    const current = await this.repository.signingKey(head.keyId);
    const chainKey = current ? verifierKey(current.name, current.publicKey) : `key id ${head.keyId}`;
    const ours = verifierKey(this.signer.name, this.signer.publicKey);
    const previousSeed = this.config.LEDGER_PREVIOUS_SIGNING_KEY;
    if (!previousSeed) {
      throw new ForeignSigningKeyError(
        `block ${head.height} (the newest) is signed by ${chainKey}, but LEDGER_SIGNING_KEY is ${ours}. ` +
          "Start with the chain's key, or record a key change: set LEDGER_PREVIOUS_SIGNING_KEY to the chain's key " +
          '(docs/design/ledger-format.md §5.1).',
      );
    }
    const previous = createSigner(this.config.LEDGER_ORIGIN, seedOf(previousSeed, 'LEDGER_PREVIOUS_SIGNING_KEY'));
    if (previous.keyId !== head.keyId) {
      throw new ForeignSigningKeyError(
        `block ${head.height} (the newest) is signed by ${chainKey}; neither LEDGER_SIGNING_KEY (${ours}) nor ` +
          `LEDGER_PREVIOUS_SIGNING_KEY (${verifierKey(previous.name, previous.publicKey)}) is that key.`,
      );
    }
    const height = head.height + 1;
    const record = signKeyChange(
      {
        origin: this.config.LEDGER_ORIGIN,
        height,
        previousHash: b64(head.hash),
        newKey: ours,
      },
      previous,
    );
    this.keyChange = { height, record };
    this.logger.warn({ from: chainKey, to: ours, height }, 'key change: the next block carries the record');
  }

  private loadSeed(): Uint8Array {
    const configured = this.config.LEDGER_SIGNING_KEY;
    if (configured) return seedOf(configured, 'LEDGER_SIGNING_KEY');
    const file = join(this.config.KEYS_DIR, `ledger-${this.config.LEDGER_ORIGIN.replace(/[^\w.-]/g, '_')}.key`);
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    }
    this.logger.warn(
      `LEDGER_SIGNING_KEY is not set: using the development key in ${file}; never do this in production`,
    );
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  }

  /** Signs a block header and the checkpoint of the tree after it. */
  sealBlock(fields: {
    height: number;
    previousHash: Uint8Array;
    firstLeafIndex: number;
    leafCount: number;
    treeSize: number;
    root: Uint8Array;
    sealedAt: Date;
  }): StoredBlock {
    const signed = signHeader(
      {
        height: fields.height,
        previousHash: b64(fields.previousHash),
        firstLeafIndex: fields.firstLeafIndex,
        leafCount: fields.leafCount,
        treeSize: fields.treeSize,
        root: b64(fields.root),
        sealedAt: fields.sealedAt.toISOString(),
        keyId: this.signer.keyId,
        // By height, not once: a block refused at commit (an id already in the log) is signed again, record and all.
        ...(this.keyChange?.height === fields.height ? { keyChange: this.keyChange.record } : {}),
      },
      this.signer,
    );
    const checkpoint = signCheckpoint(
      { origin: this.config.LEDGER_ORIGIN, size: fields.treeSize, root: fields.root, extensions: [] },
      [this.signer],
    );
    return {
      ...fields,
      keyId: this.signer.keyId,
      keyChange: signed.keyChange ?? null,
      signature: Buffer.from(signed.signature, 'base64'),
      hash: blockHash(signed),
      checkpoint,
    };
  }
}

/** A base64 Ed25519 seed from configuration. */
function seedOf(configured: string, variable: string): Uint8Array {
  const seed = Buffer.from(configured, 'base64');
  if (seed.length !== 32) {
    throw new ConfigError('ledger', [{ variable, message: 'must be base64 of a 32-byte Ed25519 seed' }]);
  }
  return seed;
}
