import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { blockHash, createSigner, signCheckpoint, signHeader, type NoteSigner } from '@medledger/ledger-core';
import { ConfigError } from '@medledger/platform';
import { LEDGER_CONFIG, type LedgerConfig } from '../ledger.config';
import { LedgerRepository, type StoredBlock } from './ledger.repository';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/**
 * The ledger's signing key (Ed25519, named after the origin). From LEDGER_SIGNING_KEY (base64 seed); outside
 * production a development key is created once under KEYS_DIR with a warning. Every key ever used is
 * registered in the database so /v1/keys can list it and old blocks keep verifying after a rotation.
 */
@Injectable()
export class LedgerSigner implements OnModuleInit {
  private readonly logger = new Logger(LedgerSigner.name);
  readonly signer: NoteSigner;

  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly repository: LedgerRepository,
  ) {
    this.signer = createSigner(config.LEDGER_ORIGIN, this.loadSeed());
  }

  async onModuleInit(): Promise<void> {
    await this.repository.registerKey(this.signer.keyId, this.signer.name, this.signer.publicKey);
    this.logger.log({ keyId: this.signer.keyId, name: this.signer.name }, 'ledger signing key ready');
  }

  private loadSeed(): Uint8Array {
    const configured = this.config.LEDGER_SIGNING_KEY;
    if (configured) {
      const seed = Buffer.from(configured, 'base64');
      if (seed.length !== 32) {
        throw new ConfigError('ledger', [
          { variable: 'LEDGER_SIGNING_KEY', message: 'must be base64 of a 32-byte Ed25519 seed' },
        ]);
      }
      return seed;
    }
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
      signature: Buffer.from(signed.signature, 'base64'),
      hash: blockHash(signed),
      checkpoint,
    };
  }
}
