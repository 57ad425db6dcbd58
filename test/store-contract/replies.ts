import { type ContractContext, message, opts, T0 } from './fixtures';

/** Request–reply: a request produced with its reply awaited, and the reply stored once. */
export function describeReplies(context: ContractContext): void {
  describe('replies', () => {
    test('onReplied is told of a stored reply once its commit is done, and not of a reply refused', async () => {
      const { store } = context;
      await store.produceRequest({ queue: 'q', message: message('question'), pending: { correlationId: 'c1', deadline: T0 + 1000 }, ...opts() });
      // Null (look again) may come at any time, from a backend that announces across processes.
      const seen: string[] = [];
      const off = store.onReplied((correlationId) => correlationId !== null && seen.push(correlationId));
      const reply = { status: 200, contentType: 'text/plain', headers: { h: 'v' }, body: Buffer.from('answer') };
      const putReply = (correlationId: string) => store.putReply({ queue: 'q', correlationId, reply, now: T0 });
      expect(await putReply('c1')).toBe('stored');
      expect(seen).toEqual(['c1']);
      expect([await putReply('c1'), await putReply('c2')]).toEqual(['replied', 'unknown']);
      expect(seen).toEqual(['c1']);
      expect(await store.findReply('c1')).toEqual(reply);
      off();
    });
  });
}
