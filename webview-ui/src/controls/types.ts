/** Types of the control wrappers' props that callers build. */
export interface SelectOption {
  value: string;
  label: string;
}
