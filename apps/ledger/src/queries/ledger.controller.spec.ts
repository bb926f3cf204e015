import { ProblemException } from '@medledger/platform';
import { LedgerController } from './ledger.controller';

describe('LedgerController.event', () => {
  const queries = { event: jest.fn(async (id: string) => ({ id })) };
  const controller = new LedgerController(queries as never);

  it.each(['\u0000', 'a\u0000b', 'x'.repeat(257)])('refuses %j with 400 LEDGER.INVALID_PARAMETER', (id) => {
    let refused: unknown;
    try {
      void controller.event(id);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ProblemException);
    expect((refused as ProblemException).code).toBe('LEDGER.INVALID_PARAMETER');
    expect((refused as ProblemException).getStatus()).toBe(400);
    expect(queries.event).not.toHaveBeenCalled();
  });

  it('looks an ordinary id up', async () => {
    await expect(controller.event('4f6c1c4e-2b55-4a43-9d3e-8f6a0d1e2b3c')).resolves.toEqual({
      id: '4f6c1c4e-2b55-4a43-9d3e-8f6a0d1e2b3c',
    });
  });
});
