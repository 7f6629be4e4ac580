/** The size of a guest page, of a frozen page and of a host slab's page: 4 KiB, x86's base page. */
export const PAGE_SIZE = 4096;
