"""Create a database in the watched folder."""

# guards: forbidden_write
# kernel: nonzero_exit
# kernel-error: unable to open database file
import sqlite3

sqlite3.connect("@WATCHED@/pwned.db").execute("create table t (x)")
