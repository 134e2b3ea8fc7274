#pragma once
// logbook/adif.hpp: the ADIF 3.1.6 ADI reader and writer (ADIF 3.1.6 specification, "ADI File Format").
// Each part has its own header: adif/scanner.hpp (tags and fields), adif/document.hpp (a parsed file),
// adif/reader.hpp (the parallel parse), adif/writer.hpp, adif/errors.hpp.

#include <logbook/adif/document.hpp>
#include <logbook/adif/errors.hpp>
#include <logbook/adif/reader.hpp>
#include <logbook/adif/scanner.hpp>
#include <logbook/adif/writer.hpp>
