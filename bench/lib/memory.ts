/** The process's resident-set high-water mark so far, in MiB (resourceUsage reports KiB). */
export function peakRssMiB(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}
