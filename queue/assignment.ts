/**
 * The group assignor: partitions dealt round-robin over the members in member
 * id order — balanced (sizes differ by at most one), one member per
 * partition, and the same answer in every process for the same membership.
 */
export function assignPartitions(memberIds: string[], partitions: number): Map<string, number[]> {
  const members = [...memberIds].sort();
  const assignment = new Map<string, number[]>(members.map((id) => [id, []]));
  if (members.length === 0) return assignment;
  for (let partition = 0; partition < partitions; partition++) {
    assignment.get(members[partition % members.length])?.push(partition);
  }
  return assignment;
}
