# Dependencies of the gateway, the core and the tests; all of them come from
# Debian 12 packages (see scripts/install-deps).
find_package(PkgConfig REQUIRED)
pkg_check_modules(PISTACHE REQUIRED IMPORTED_TARGET libpistache)
find_package(CURL REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(Threads REQUIRED)

# MySQL Connector/C++ 1.1 and libphonenumber ship neither a CMake package nor a
# pkg-config file: wrap each in an imported target.
function(barid_import_library target header library)
  string(TOUPPER "${target}" var)
  find_path(${var}_INCLUDE_DIR ${header} REQUIRED)
  find_library(${var}_LIBRARY ${library} REQUIRED)
  add_library(barid_ext::${target} UNKNOWN IMPORTED GLOBAL)
  set_target_properties(barid_ext::${target} PROPERTIES
    IMPORTED_LOCATION "${${var}_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${${var}_INCLUDE_DIR}")
endfunction()

barid_import_library(mysqlcppconn mysql_driver.h mysqlcppconn)
barid_import_library(phonenumber phonenumbers/phonenumberutil.h phonenumber)
