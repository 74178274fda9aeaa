/**
 * Dead letters: a consumed value that cannot be decoded goes to `conduitwatch.deadletter.v1` as
 * is (raw bytes), with the reason and its origin in headers, so the batch can be committed and a
 * person can look at why later. Key = the original key (one bad exporter's records stay in order).
 */
import { HEADERS, TOPICS, type Bus, type InMessage, type OutMessage } from './bus.ts';

export const deadLetterOf = (m: InMessage, reason: string): OutMessage => ({
  key: m.key,
  value: m.value,
  headers: {
    ...m.headers,
    [HEADERS.reason]: reason.slice(0, 500),
    [HEADERS.sourceTopic]: m.topic,
    [HEADERS.sourcePartition]: String(m.partition),
    [HEADERS.sourceOffset]: m.offset,
  },
});

/** Publishes dead letters (resolves once durable). */
export const deadLetter = async (bus: Bus, items: { message: InMessage; reason: string }[]): Promise<void> => {
  if (items.length) await bus.publish(TOPICS.deadletter, items.map((i) => deadLetterOf(i.message, i.reason)));
};
