import { loadConfig } from '../config/config.loader';
import { ReceiverRepository } from './receiver.repository';
import { createVectorReuse } from './receiver.module';

describe('createVectorReuse', () => {
  const repository = {} as ReceiverRepository;

  it('is the built-in store when it is the receiver (RECEIVER_URL unset)', () => {
    expect(createVectorReuse(loadConfig({}), repository)).toBe(repository);
  });

  it('is absent when vectors go to another receiver, whose store is not ours to read', () => {
    expect(createVectorReuse(loadConfig({ RECEIVER_URL: 'http://receiver:8080' }), repository)).toBeNull();
  });
});
