/* chatd-crypto.h: the crypto core of the daemon (everything in
 * daemon/crypto).  The daemon includes this one header.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <chatd/suite.h>

#include "aead.h"
#include "argon2.h"
#include "crypto-init.h"
#include "domain.h"
#include "fingerprint.h"
#include "hkdf.h"
#include "keyblob.h"
#include "password-wrap.h"
#include "secret.h"
#include "slice.h"
#include "suite-check.h"
