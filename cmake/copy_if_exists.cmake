# cmake -DSRC=FILE -DDST=FILE -P copy_if_exists.cmake — copies SRC to DST when SRC exists.
if(EXISTS "${SRC}")
  file(COPY_FILE "${SRC}" "${DST}" ONLY_IF_DIFFERENT)
endif()
