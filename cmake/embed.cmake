# Write the file IN as a NUL-terminated C string lp__plan_leopards_csv in OUT.
file(READ ${IN} HEX HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," BYTES "${HEX}")
file(WRITE ${OUT} "/* Generated from plans/leopards.csv by cmake/embed.cmake. */\nconst char lp__plan_leopards_csv[] = {${BYTES} 0x00};\n")
