import { ProblemException } from '@medledger/platform';
import { EventsController } from './events.controller';

// An event id PostgreSQL cannot hold as text reached the query, which answered 500 (npm run chaos, hostile-input).
describe('EventsController.receipt', () => {
  const receipts = { receipt: jest.fn(async (id: string) => ({ id })) };
  const controller = new EventsController(receipts as never, {} as never, {} as never, {} as never);

  it.each(['\u0000', 'a\u0000b', 'x'.repeat(257)])('refuses %j with 400 EVENT_STORE.INVALID_PARAMETER', (id) => {
    expect(() => controller.receipt(id)).toThrow(ProblemException);
    try {
      void controller.receipt(id);
    } catch (error) {
      expect((error as ProblemException).code).toBe('EVENT_STORE.INVALID_PARAMETER');
      expect((error as ProblemException).getStatus()).toBe(400);
    }
    expect(receipts.receipt).not.toHaveBeenCalled();
  });

  it('looks an ordinary id up', async () => {
    await expect(controller.receipt('0b8f3c1e-5d2a-4f6b-9c7d-1e2f3a4b5c6d')).resolves.toEqual({
      id: '0b8f3c1e-5d2a-4f6b-9c7d-1e2f3a4b5c6d',
    });
  });
});
