/** Records without their `id`, for tests that compare decoded values; ids have tests of their own. */
export const noId = <T extends { id: string }>(recs: readonly T[]): Omit<T, 'id'>[] =>
  recs.map(({ id: _id, ...rest }) => rest);
