"""SUSY-shaped data: a synthetic generator, a streaming validator and a file fingerprint.

Only numpy and the standard library: the generator runs on the controller, where pyspark may
not be installed.
"""

import gzip
import hashlib
import io
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from sparksweep.errors import DataError
from sparksweep.results import atomic_write

FEATURE_COLUMNS: list[str] = [
    "lepton_1_pt",
    "lepton_1_eta",
    "lepton_1_phi",
    "lepton_2_pt",
    "lepton_2_eta",
    "lepton_2_phi",
    "missing_energy_magnitude",
    "missing_energy_phi",
    "met_rel",
    "axial_met",
    "m_r",
    "m_tr_2",
    "r",
    "mt2",
    "s_r",
    "m_delta_r",
    "dphi_r_b",
    "cos_theta_r1",
]
SUSY_COLUMNS: list[str] = ["label", *FEATURE_COLUMNS]
SUSY_ROWS = 5_000_000

# The generator's model, fitted once, offline, to the 10,000 real rows of
# ../shared/data/SUSY-sample-10k.csv (sha256 5296...5f73) and frozen here so generation needs
# no sample. Each class (0 background, 1 signal) has its own model:
# - Marginals: the empirical quantile function of each feature, tabulated at the normal scores
#   _KNOTS_Z (numpy.quantile, linear, at p = Phi(z) for z = -3.5, -3.25, ..., 3.5) plus the
#   class's minimum and maximum at z = -4.5 and 4.5, so generated values stay inside the real
#   range (momenta positive, eta and phi bounded as in the file, where they are standardised).
# - MT2 is exactly zero in 17.6% of background and 26.6% of signal rows: _ZERO_ATOM_Z holds
#   Phi^-1 of that share, below which the feature is 0.
# - Dependence: a Gaussian copula whose correlation is that of the normal scores
#   Phi^-1((rank - 1/2) / n) of each feature within the class (numpy.corrcoef). It keeps rank
#   correlations within about 0.1 of the sample's; Pearson correlations of heavy-tailed pairs
#   differ more (up to 0.25), which a Gaussian copula cannot fix.
# - _SIGNAL_SHARE is the sample's share of label 1 (the full data set has about 46%).
# Tabulating quantiles instead of fitting named distributions keeps every column's two-sample
# Kolmogorov-Smirnov distance to the sample near the sampling noise (tests/unit/test_data.py).
_SIGNAL_SHARE = 0.4553
_KNOTS_Z = np.concatenate(([-4.5], np.linspace(-3.5, 3.5, 29), [4.5]))
_ZERO_ATOM_Z = {"mt2": (-0.9298, -0.6244)}
# fmt: off
_QUANTILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "lepton_1_pt": (
        (0.2610, 0.2689, 0.2716, 0.2779, 0.2869, 0.2972, 0.3127, 0.3326, 0.3555, 0.3814, 0.4120,
         0.4445, 0.4809, 0.5225, 0.5766, 0.6365, 0.7078, 0.7971, 0.9025, 1.0229, 1.1722, 1.3786,
         1.6119, 1.9122, 2.3528, 2.8405, 3.5546, 4.2891, 5.2701, 5.5388, 5.8927),
        (0.2623, 0.2694, 0.2767, 0.2983, 0.3111, 0.3307, 0.3534, 0.3890, 0.4373, 0.5013, 0.5641,
         0.6441, 0.7328, 0.8385, 0.9606, 1.0970, 1.2536, 1.4351, 1.6358, 1.8640, 2.1603, 2.5311,
         2.8971, 3.4568, 4.0186, 4.6582, 5.3407, 5.9423, 6.6667, 7.6420, 8.2368),
    ),
    "lepton_1_eta": (
        (-2.1021, -2.1014, -2.1008, -2.0950, -2.0802, -2.0498, -2.0081, -1.9448, -1.8404, -1.6958,
         -1.5156, -1.2820, -1.0064, -0.6726, -0.3451, 0.0038, 0.3710, 0.6841, 0.9961, 1.2681,
         1.5062, 1.6671, 1.8146, 1.9162, 1.9811, 2.0309, 2.0608, 2.0797, 2.0883, 2.0913, 2.0957),
        (-2.0958, -2.0836, -2.0671, -2.0531, -2.0093, -1.8912, -1.7979, -1.6414, -1.4850, -1.3192,
         -1.1249, -0.9045, -0.6882, -0.4479, -0.2110, 0.0096, 0.2463, 0.4684, 0.6968, 0.9118,
         1.1243, 1.3353, 1.5246, 1.7099, 1.8328, 1.9521, 2.0192, 2.0500, 2.0770, 2.0967, 2.1007),
    ),
    "lepton_1_phi": (
        (-1.7343, -1.7332, -1.7330, -1.7303, -1.7250, -1.7115, -1.6844, -1.6500, -1.5680, -1.4760,
         -1.3527, -1.1729, -0.9288, -0.6410, -0.3160, 0.0095, 0.3664, 0.6751, 0.9414, 1.1809,
         1.3592, 1.4967, 1.5852, 1.6457, 1.6852, 1.7032, 1.7199, 1.7281, 1.7302, 1.7328, 1.7341),
        (-1.7347, -1.7337, -1.7315, -1.7251, -1.7220, -1.7140, -1.6958, -1.6604, -1.5834, -1.4793,
         -1.3417, -1.1448, -0.9078, -0.6281, -0.3180, 0.0160, 0.3582, 0.6720, 0.9613, 1.1953,
         1.3738, 1.5112, 1.6009, 1.6530, 1.6876, 1.7075, 1.7220, 1.7278, 1.7312, 1.7323, 1.7331),
    ),
    "lepton_2_pt": (
        (0.4286, 0.4288, 0.4289, 0.4293, 0.4306, 0.4325, 0.4356, 0.4413, 0.4531, 0.4696, 0.4898,
         0.5210, 0.5581, 0.6057, 0.6619, 0.7319, 0.8111, 0.9158, 1.0446, 1.2145, 1.3995, 1.6286,
         1.9106, 2.2763, 2.7461, 3.5567, 4.4830, 5.0794, 6.3798, 7.7924, 9.1327),
        (0.4287, 0.4289, 0.4293, 0.4297, 0.4315, 0.4346, 0.4414, 0.4501, 0.4634, 0.4868, 0.5186,
         0.5628, 0.6246, 0.7060, 0.7956, 0.9237, 1.0538, 1.2321, 1.4628, 1.7072, 2.0072, 2.3419,
         2.6948, 3.1529, 3.6946, 4.3449, 4.8318, 5.4278, 6.0380, 7.0085, 7.7036),
    ),
    "lepton_2_eta": (
        (-2.0559, -2.0513, -2.0506, -2.0467, -2.0276, -1.9999, -1.9549, -1.8880, -1.8106, -1.6616,
         -1.4813, -1.2818, -1.0070, -0.7052, -0.3793, -0.0419, 0.2934, 0.6158, 0.9263, 1.2068,
         1.4556, 1.6430, 1.7769, 1.8784, 1.9453, 1.9927, 2.0243, 2.0428, 2.0491, 2.0528, 2.0559),
        (-2.0459, -2.0412, -2.0152, -1.9970, -1.9569, -1.9115, -1.8374, -1.7362, -1.5775, -1.3851,
         -1.1797, -0.9715, -0.7340, -0.4931, -0.2641, -0.0162, 0.2289, 0.4900, 0.7211, 0.9489,
         1.1517, 1.3940, 1.5533, 1.7002, 1.8533, 1.9635, 2.0144, 2.0393, 2.0545, 2.0581, 2.0594),
    ),
    "lepton_2_phi": (
        (-1.7341, -1.7338, -1.7328, -1.7282, -1.7233, -1.7128, -1.6931, -1.6417, -1.5821, -1.4867,
         -1.3410, -1.1833, -0.9640, -0.6807, -0.3683, 0.0044, 0.3336, 0.6677, 0.9701, 1.2231,
         1.3933, 1.5109, 1.6073, 1.6608, 1.6975, 1.7182, 1.7259, 1.7309, 1.7336, 1.7344, 1.7346),
        (-1.7313, -1.7309, -1.7304, -1.7263, -1.7220, -1.7103, -1.6857, -1.6501, -1.5814, -1.4784,
         -1.3593, -1.1624, -0.9397, -0.6542, -0.3329, 0.0201, 0.3702, 0.6739, 0.9515, 1.1849,
         1.3527, 1.4995, 1.5905, 1.6510, 1.6857, 1.7075, 1.7169, 1.7261, 1.7326, 1.7330, 1.7339),
    ),
    "missing_energy_magnitude": (
        (0.0021, 0.0072, 0.0111, 0.0238, 0.0412, 0.0634, 0.0872, 0.1160, 0.1498, 0.1925, 0.2371,
         0.2959, 0.3585, 0.4358, 0.5132, 0.6022, 0.6940, 0.7840, 0.8812, 0.9776, 1.0797, 1.1920,
         1.3118, 1.4481, 1.6019, 1.7486, 1.9549, 2.1374, 3.0169, 3.5076, 4.1728),
        (0.0273, 0.0408, 0.0660, 0.0706, 0.0846, 0.1192, 0.1516, 0.1936, 0.2513, 0.3324, 0.4243,
         0.5337, 0.6598, 0.7944, 0.9457, 1.1203, 1.3180, 1.5610, 1.8571, 2.1775, 2.6151, 3.2410,
         3.8181, 4.4094, 5.2625, 6.1617, 7.0402, 8.6058, 9.9270, 11.8093, 12.2332),
    ),
    "missing_energy_phi": (
        (-1.7266, -1.7262, -1.7258, -1.7208, -1.7179, -1.7060, -1.6835, -1.6508, -1.5945, -1.5000,
         -1.3542, -1.1652, -0.9376, -0.6657, -0.3635, -0.0217, 0.3259, 0.6661, 0.9489, 1.1947,
         1.3801, 1.5199, 1.6134, 1.6780, 1.7057, 1.7206, 1.7320, 1.7379, 1.7398, 1.7401, 1.7402),
        (-1.7257, -1.7246, -1.7243, -1.7187, -1.7121, -1.7014, -1.6801, -1.6366, -1.5710, -1.4788,
         -1.3380, -1.1700, -0.9402, -0.6955, -0.3789, -0.0359, 0.3249, 0.6597, 0.9136, 1.1710,
         1.3714, 1.5119, 1.6041, 1.6645, 1.6960, 1.7187, 1.7301, 1.7358, 1.7399, 1.7402, 1.7405),
    ),
    "met_rel": (
        (0.0001, 0.0006, 0.0011, 0.0015, 0.0034, 0.0051, 0.0119, 0.0240, 0.0416, 0.0797, 0.1286,
         0.1960, 0.2778, 0.3869, 0.5243, 0.6736, 0.8333, 0.9999, 1.1615, 1.3373, 1.4919, 1.6565,
         1.8422, 2.0234, 2.2181, 2.4435, 2.6165, 2.7885, 2.9273, 3.0428, 3.3227),
        (0.0002, 0.0023, 0.0029, 0.0045, 0.0073, 0.0137, 0.0213, 0.0407, 0.0722, 0.1160, 0.1840,
         0.2761, 0.3954, 0.5651, 0.7689, 1.0150, 1.2583, 1.5526, 1.8658, 2.2289, 2.5939, 3.0493,
         3.6474, 4.2651, 4.9911, 5.9339, 6.6753, 7.7928, 8.4959, 9.8691, 12.9731),
    ),
    "axial_met": (
        (-3.1387, -2.8464, -2.1352, -1.7241, -1.5054, -1.2971, -1.1413, -1.0145, -0.8752, -0.7529,
         -0.6333, -0.5261, -0.4133, -0.3014, -0.1816, -0.0563, 0.0536, 0.1564, 0.2760, 0.3997,
         0.5193, 0.6397, 0.7602, 0.8618, 0.9712, 1.1089, 1.2932, 1.4921, 1.7028, 1.7605, 1.8890),
        (-6.5625, -6.2071, -5.8527, -5.0202, -4.3664, -3.3561, -2.8097, -2.2367, -1.8001, -1.5319,
         -1.2252, -0.9637, -0.7411, -0.5349, -0.3205, -0.0912, 0.1517, 0.4217, 0.7338, 1.1034,
         1.6426, 2.2390, 2.9104, 3.6959, 4.3365, 5.1352, 6.1469, 7.1867, 8.2585, 9.1494, 10.0895),
    ),
    "m_r": (
        (0.2813, 0.2878, 0.2889, 0.2976, 0.3036, 0.3194, 0.3342, 0.3526, 0.3756, 0.4007, 0.4298,
         0.4619, 0.5054, 0.5526, 0.6117, 0.6902, 0.7760, 0.8937, 1.0275, 1.2017, 1.3978, 1.6637,
         1.9754, 2.3384, 2.8073, 3.3850, 3.7862, 5.4839, 6.2741, 7.7066, 10.0156),
        (0.2860, 0.3044, 0.3155, 0.3267, 0.3404, 0.3568, 0.3828, 0.4194, 0.4628, 0.5200, 0.5862,
         0.6517, 0.7248, 0.8102, 0.9019, 1.0217, 1.1474, 1.2985, 1.4753, 1.6756, 1.8961, 2.1959,
         2.5755, 2.9768, 3.4944, 3.8448, 4.4204, 4.6927, 5.4619, 6.4456, 6.6929),
    ),
    "m_tr_2": (
        (0.0366, 0.0409, 0.0546, 0.0883, 0.1262, 0.1656, 0.2187, 0.2572, 0.2974, 0.3450, 0.3965,
         0.4584, 0.5210, 0.5846, 0.6549, 0.7274, 0.8073, 0.8898, 0.9700, 1.0583, 1.1573, 1.2550,
         1.3742, 1.5231, 1.7149, 2.0617, 2.4096, 3.0784, 3.9853, 4.1662, 4.9230),
        (0.0251, 0.0704, 0.0892, 0.1437, 0.1655, 0.2089, 0.2623, 0.3454, 0.4047, 0.4942, 0.5790,
         0.6754, 0.7829, 0.8974, 1.0223, 1.1525, 1.2786, 1.4342, 1.6029, 1.8045, 2.0188, 2.2897,
         2.5896, 2.9403, 3.5160, 4.1142, 4.7576, 5.8228, 6.4452, 6.9833, 7.1591),
    ),
    "r": (
        (0.0339, 0.0766, 0.0954, 0.1039, 0.1322, 0.1651, 0.2020, 0.2514, 0.3041, 0.3589, 0.4255,
         0.5055, 0.5843, 0.6759, 0.7674, 0.8806, 1.0032, 1.1260, 1.2720, 1.4089, 1.5599, 1.6993,
         1.8201, 1.9508, 2.1053, 2.2572, 2.4200, 2.5293, 2.7374, 2.8207, 2.9586),
        (0.0341, 0.0587, 0.0770, 0.1098, 0.1437, 0.1942, 0.2374, 0.3056, 0.3556, 0.4194, 0.4895,
         0.5871, 0.6748, 0.7741, 0.8810, 0.9950, 1.1177, 1.2391, 1.3730, 1.5222, 1.6643, 1.8281,
         1.9914, 2.2258, 2.4247, 2.6865, 3.1094, 3.3058, 3.6429, 3.9171, 4.3863),
    ),
    "mt2": (
        (0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000,
         0.0000, 0.1848, 0.4232, 0.6446, 0.8699, 1.1046, 1.3395, 1.5503, 1.7470, 1.9340, 2.0916,
         2.2564, 2.4122, 2.5437, 2.6711, 2.8202, 2.8882, 2.9340, 3.1405, 3.3244),
        (0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000,
         0.0000, 0.0000, 0.2319, 0.5830, 0.9294, 1.2450, 1.5766, 1.8814, 2.1697, 2.4539, 2.6824,
         2.8793, 3.1156, 3.3348, 3.6604, 3.7985, 4.0644, 4.1615, 6.4247, 10.1535),
    ),
    "s_r": (
        (0.0691, 0.1392, 0.1548, 0.2107, 0.2408, 0.2767, 0.3117, 0.3422, 0.3727, 0.4013, 0.4331,
         0.4737, 0.5187, 0.5678, 0.6248, 0.6955, 0.7834, 0.9037, 1.0376, 1.2118, 1.4001, 1.6646,
         1.9778, 2.3316, 2.7861, 3.3857, 3.7995, 5.5007, 6.3042, 7.7771, 10.0469),
        (0.1318, 0.1452, 0.1616, 0.1780, 0.2302, 0.3074, 0.3610, 0.3981, 0.4609, 0.5153, 0.5808,
         0.6600, 0.7294, 0.8135, 0.9124, 1.0239, 1.1422, 1.2890, 1.4605, 1.6579, 1.8927, 2.1762,
         2.5176, 2.9462, 3.4459, 3.8553, 4.2810, 4.6219, 5.1589, 6.4698, 6.7205),
    ),
    "m_delta_r": (
        (0.0046, 0.0053, 0.0078, 0.0134, 0.0209, 0.0329, 0.0549, 0.0838, 0.1193, 0.1614, 0.2198,
         0.3073, 0.4075, 0.5204, 0.6499, 0.7824, 0.9325, 1.0882, 1.2341, 1.3677, 1.5002, 1.6286,
         1.7543, 1.9048, 2.0327, 2.1649, 2.2720, 2.3996, 2.9045, 4.0872, 5.2192),
        (0.0073, 0.0107, 0.0168, 0.0274, 0.0343, 0.0552, 0.0813, 0.1270, 0.1820, 0.2483, 0.3378,
         0.4587, 0.5932, 0.7412, 0.9215, 1.0879, 1.2791, 1.4723, 1.6933, 1.8745, 2.0665, 2.2657,
         2.4747, 2.7086, 3.0514, 3.3080, 3.6314, 4.3968, 5.1556, 7.2606, 7.8939),
    ),
    "dphi_r_b": (
        (0.0009, 0.0014, 0.0035, 0.0082, 0.0110, 0.0246, 0.0382, 0.0760, 0.1335, 0.2156, 0.3312,
         0.4672, 0.6203, 0.7894, 0.9429, 1.0809, 1.2010, 1.3027, 1.3873, 1.4473, 1.4986, 1.5317,
         1.5545, 1.5715, 1.5793, 1.5853, 1.5870, 1.5894, 1.5911, 1.5914, 1.5915),
        (0.0004, 0.0011, 0.0024, 0.0054, 0.0107, 0.0222, 0.0455, 0.0821, 0.1405, 0.2330, 0.3416,
         0.4984, 0.6712, 0.8253, 0.9840, 1.1147, 1.2259, 1.3120, 1.3932, 1.4581, 1.5015, 1.5362,
         1.5582, 1.5733, 1.5814, 1.5865, 1.5902, 1.5907, 1.5914, 1.5915, 1.5916),
    ),
    "cos_theta_r1": (
        (0.0000, 0.0001, 0.0001, 0.0002, 0.0005, 0.0011, 0.0020, 0.0040, 0.0074, 0.0116, 0.0203,
         0.0313, 0.0469, 0.0676, 0.0929, 0.1253, 0.1639, 0.2116, 0.2667, 0.3273, 0.3895, 0.4520,
         0.5349, 0.6001, 0.6760, 0.7508, 0.8106, 0.8477, 0.8767, 0.9078, 0.9137),
        (0.0001, 0.0001, 0.0002, 0.0005, 0.0015, 0.0025, 0.0040, 0.0078, 0.0146, 0.0252, 0.0413,
         0.0613, 0.0913, 0.1286, 0.1785, 0.2371, 0.3011, 0.3710, 0.4493, 0.5222, 0.6008, 0.6711,
         0.7401, 0.7877, 0.8462, 0.8868, 0.9302, 0.9488, 0.9594, 0.9688, 0.9731),
    ),
}
_CORRELATION: tuple[tuple[tuple[float, ...], ...], tuple[tuple[float, ...], ...]] = (
    (
        (1.000, -0.002, -0.007, 0.716, 0.006, -0.007, 0.099, -0.017, -0.029, -0.053, 0.834, 0.484,
         -0.367, -0.032, 0.787, 0.094, -0.182, -0.046),
        (-0.002, 1.000, 0.019, -0.007, 0.408, -0.017, -0.016, -0.024, -0.027, 0.009, 0.003,
         -0.010, -0.014, -0.012, 0.002, -0.012, -0.018, -0.008),
        (-0.007, 0.019, 1.000, -0.001, 0.018, -0.194, -0.011, -0.154, -0.018, 0.000, -0.007,
         -0.006, 0.001, -0.013, -0.009, -0.006, -0.001, 0.014),
        (0.716, -0.007, -0.001, 1.000, 0.007, -0.005, -0.035, -0.017, -0.116, 0.083, 0.741, 0.309,
         -0.437, -0.118, 0.717, -0.053, -0.047, -0.345),
        (0.006, 0.408, 0.018, 0.007, 1.000, -0.028, -0.005, 0.000, -0.013, 0.008, -0.005, -0.004,
         0.001, -0.006, -0.006, -0.011, -0.018, -0.003),
        (-0.007, -0.017, -0.194, -0.005, -0.028, 1.000, 0.006, -0.066, 0.007, 0.012, -0.001,
         -0.002, 0.005, 0.014, -0.006, 0.005, 0.000, -0.009),
        (0.099, -0.016, -0.011, -0.035, -0.005, 0.006, 1.000, 0.004, 0.782, -0.629, 0.046, 0.854,
         0.688, 0.591, 0.174, 0.716, 0.506, 0.391),
        (-0.017, -0.024, -0.154, -0.017, 0.000, -0.066, 0.004, 1.000, 0.011, -0.023, -0.020,
         -0.002, 0.020, 0.018, -0.012, 0.012, 0.015, 0.012),
        (-0.029, -0.027, -0.018, -0.116, -0.013, 0.007, 0.782, 0.011, 1.000, -0.647, -0.058,
         0.682, 0.658, 0.731, 0.057, 0.771, 0.380, 0.216),
        (-0.053, 0.009, 0.000, 0.083, 0.008, 0.012, -0.629, -0.023, -0.647, 1.000, -0.015, -0.692,
         -0.587, -0.781, -0.131, -0.785, -0.266, -0.331),
        (0.834, 0.003, -0.007, 0.741, -0.005, -0.001, 0.046, -0.020, -0.058, -0.015, 1.000, 0.389,
         -0.594, -0.062, 0.961, 0.090, -0.122, -0.347),
        (0.484, -0.010, -0.006, 0.309, -0.004, -0.002, 0.854, -0.002, 0.682, -0.692, 0.389, 1.000,
         0.482, 0.630, 0.484, 0.758, 0.302, 0.298),
        (-0.367, -0.014, 0.001, -0.437, 0.001, 0.005, 0.688, 0.020, 0.658, -0.587, -0.594, 0.482,
         1.000, 0.620, -0.469, 0.577, 0.379, 0.583),
        (-0.032, -0.012, -0.013, -0.118, -0.006, 0.014, 0.591, 0.018, 0.731, -0.781, -0.062,
         0.630, 0.620, 1.000, 0.003, 0.905, 0.055, 0.197),
        (0.787, 0.002, -0.009, 0.717, -0.006, -0.006, 0.174, -0.012, 0.057, -0.131, 0.961, 0.484,
         -0.469, 0.003, 1.000, 0.159, 0.026, -0.315),
        (0.094, -0.012, -0.006, -0.053, -0.011, 0.005, 0.716, 0.012, 0.771, -0.785, 0.090, 0.758,
         0.577, 0.905, 0.159, 1.000, 0.092, 0.222),
        (-0.182, -0.018, -0.001, -0.047, -0.018, 0.000, 0.506, 0.015, 0.380, -0.266, -0.122,
         0.302, 0.379, 0.055, 0.026, 0.092, 1.000, 0.119),
        (-0.046, -0.008, 0.014, -0.345, -0.003, -0.009, 0.391, 0.012, 0.216, -0.331, -0.347,
         0.298, 0.583, 0.197, -0.315, 0.222, 0.119, 1.000),
    ),
    (
        (1.000, -0.026, 0.007, 0.560, -0.011, -0.006, 0.242, -0.016, 0.043, -0.050, 0.882, 0.594,
         -0.258, -0.079, 0.789, 0.107, -0.212, 0.096),
        (-0.026, 1.000, 0.009, -0.019, 0.357, -0.005, -0.018, 0.015, 0.002, -0.002, -0.020,
         -0.016, 0.005, 0.003, -0.019, 0.013, -0.007, 0.003),
        (0.007, 0.009, 1.000, -0.001, 0.020, -0.185, 0.030, -0.096, 0.013, -0.014, 0.008, 0.032,
         0.027, 0.005, 0.011, 0.022, 0.006, 0.021),
        (0.560, -0.019, -0.001, 1.000, -0.017, -0.013, 0.034, -0.003, -0.084, 0.104, 0.714, 0.327,
         -0.376, -0.173, 0.697, -0.068, 0.007, -0.356),
        (-0.011, 0.357, 0.020, -0.017, 1.000, -0.007, 0.007, 0.028, 0.012, 0.009, -0.019, -0.003,
         0.015, 0.004, -0.021, 0.016, -0.003, 0.019),
        (-0.006, -0.005, -0.185, -0.013, -0.007, 1.000, 0.001, 0.057, -0.002, 0.017, -0.019,
         -0.008, 0.008, 0.006, -0.022, -0.017, -0.008, 0.015),
        (0.242, -0.018, 0.030, 0.034, 0.007, 0.001, 1.000, 0.001, 0.646, -0.041, 0.188, 0.725,
         0.574, 0.168, 0.298, 0.553, 0.555, 0.405),
        (-0.016, 0.015, -0.096, -0.003, 0.028, 0.057, 0.001, 1.000, -0.002, 0.023, -0.011, -0.003,
         0.005, -0.005, -0.009, 0.000, 0.018, -0.005),
        (0.043, 0.002, 0.013, -0.084, 0.012, -0.002, 0.646, -0.002, 1.000, -0.237, 0.000, 0.554,
         0.591, 0.466, 0.145, 0.704, 0.391, 0.241),
        (-0.050, -0.002, -0.014, 0.104, 0.009, 0.017, -0.041, 0.023, -0.237, 1.000, 0.012, -0.435,
         -0.475, -0.614, -0.150, -0.447, -0.098, -0.382),
        (0.882, -0.020, 0.008, 0.714, -0.019, -0.019, 0.188, -0.011, 0.000, 0.012, 1.000, 0.520,
         -0.448, -0.129, 0.928, 0.111, -0.133, -0.187),
        (0.594, -0.016, 0.032, 0.327, -0.003, -0.008, 0.725, -0.003, 0.554, -0.435, 0.520, 1.000,
         0.520, 0.346, 0.669, 0.628, 0.304, 0.430),
        (-0.258, 0.005, 0.027, -0.376, 0.015, 0.008, 0.574, 0.005, 0.591, -0.475, -0.448, 0.520,
         1.000, 0.509, -0.211, 0.559, 0.453, 0.639),
        (-0.079, 0.003, 0.005, -0.173, 0.004, 0.006, 0.168, -0.005, 0.466, -0.614, -0.129, 0.346,
         0.509, 1.000, -0.034, 0.728, 0.009, 0.241),
        (0.789, -0.019, 0.011, 0.697, -0.021, -0.022, 0.298, -0.009, 0.145, -0.150, 0.928, 0.669,
         -0.211, -0.034, 1.000, 0.239, 0.053, -0.118),
        (0.107, 0.013, 0.022, -0.068, 0.016, -0.017, 0.553, 0.000, 0.704, -0.447, 0.111, 0.628,
         0.559, 0.728, 0.239, 1.000, 0.192, 0.278),
        (-0.212, -0.007, 0.006, 0.007, -0.003, -0.008, 0.555, 0.018, 0.391, -0.098, -0.133, 0.304,
         0.453, 0.009, 0.053, 0.192, 1.000, 0.107),
        (0.096, 0.003, 0.021, -0.356, 0.019, 0.015, 0.405, -0.005, 0.241, -0.382, -0.187, 0.430,
         0.639, 0.241, -0.118, 0.278, 0.107, 1.000),
    ),
)
# fmt: on


def _inverse_cdfs() -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    """Knots (normal score, value) per (feature, class) for numpy.interp.

    Below an atom at zero only the atom's own knot is kept: numpy.interp holds the first value
    to the left of the first knot, so every score under the atom maps to exactly 0.0.
    """
    knots: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    for name, per_class in _QUANTILES.items():
        for cls, quantiles in enumerate(per_class):
            values = np.array(quantiles)
            if name in _ZERO_ATOM_Z:
                atom = _ZERO_ATOM_Z[name][cls]
                above = atom < _KNOTS_Z
                knots[name, cls] = (
                    np.concatenate(([atom], _KNOTS_Z[above])),
                    np.concatenate(([0.0], values[above])),
                )
            else:
                knots[name, cls] = (_KNOTS_Z, values)
    return knots


_INVERSE_CDF = _inverse_cdfs()
_CHOLESKY = tuple(np.linalg.cholesky(np.array(matrix)) for matrix in _CORRELATION)
# Rows are drawn in fixed blocks, each from its own stream seeded by (seed, block number), so
# a file does not depend on chunk_rows and a shorter file is a prefix of a longer one.
_BLOCK_ROWS = 10_000
# Level 1 compresses 3x faster than the default 6 for a 7% larger file; generation is
# CPU-bound and runs once per data set.
_GZIP_LEVEL = 1
_READ_BYTES = 8 * 1024 * 1024
_NUMBER = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMBER_BYTES = b"0123456789+-.eE"


def generate(out: Path, rows: int, seed: int = 0, chunk_rows: int = 100_000) -> Path:
    """Write `rows` synthetic SUSY rows to `out` (gzip when it ends in .gz) and return it.

    The file has SUSY's own format: no header, 19 comma-separated numbers per line, the 0/1
    label first. The same seed gives a byte-identical file whatever chunk_rows is; memory
    grows with chunk_rows, not with rows.
    """
    if rows < 1:
        raise DataError(f"cannot generate {rows} rows: ask for at least 1")
    if seed < 0:
        raise DataError(f"seed {seed} is negative: use a seed >= 0")
    if chunk_rows < 1:
        raise DataError(f"chunk_rows {chunk_rows} must be at least 1")
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as raw:
        if out.name.endswith(".gz"):
            # No file name and mtime 0 in the gzip header keep the bytes reproducible.
            with gzip.GzipFile(
                filename="", mode="wb", compresslevel=_GZIP_LEVEL, fileobj=raw, mtime=0
            ) as zipped:
                _write_rows(zipped, rows, seed, chunk_rows)
        else:
            _write_rows(raw, rows, seed, chunk_rows)
    return out


def _write_rows(sink: BinaryIO, rows: int, seed: int, chunk_rows: int) -> None:
    for chunk in _chunks(rows, seed, chunk_rows):
        # repr is the shortest text that reads back as the same double, as in the real file.
        text = "".join([",".join(map(repr, row)) + "\n" for row in chunk.tolist()])
        sink.write(text.encode("ascii"))


def _chunks(rows: int, seed: int, chunk_rows: int) -> Iterator[np.ndarray]:
    """Yield the file's rows in arrays of at most chunk_rows rows."""
    pending: list[np.ndarray] = []
    pending_rows = 0
    for block_number, start in enumerate(range(0, rows, _BLOCK_ROWS)):
        block = _draw_block(seed, block_number)[: rows - start]
        while len(block):
            take = min(chunk_rows - pending_rows, len(block))
            pending.append(block[:take])
            pending_rows += take
            block = block[take:]
            if pending_rows == chunk_rows:
                yield np.concatenate(pending)
                pending, pending_rows = [], 0
    if pending:
        yield np.concatenate(pending)


def _draw_block(seed: int, block_number: int) -> np.ndarray:
    rng = np.random.default_rng([seed, block_number])
    signal = rng.random(_BLOCK_ROWS) < _SIGNAL_SHARE
    scores = rng.standard_normal((_BLOCK_ROWS, len(FEATURE_COLUMNS)))
    block = np.empty((_BLOCK_ROWS, len(SUSY_COLUMNS)))
    block[:, 0] = signal
    for cls, members in enumerate((~signal, signal)):
        correlated = scores[members] @ _CHOLESKY[cls].T
        for j, name in enumerate(FEATURE_COLUMNS):
            knots, values = _INVERSE_CDF[name, cls]
            block[members, j + 1] = np.interp(correlated[:, j], knots, values)
    # The real features passed through single precision: round the same way.
    block[:, 1:] = block[:, 1:].astype(np.float32)
    return block


def validate_csv(path: Path) -> int:
    """Return the number of rows of a SUSY CSV (plain or gzip), or raise DataError.

    The error names the file, the first bad line (1-based) and what is wrong with it.
    """
    if not path.is_file():
        raise DataError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    rows = 0
    try:
        with _open_binary(path) as stream:
            for first_line, lines in _line_blocks(stream):
                rows += _check_lines(path, first_line, lines)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot be read after line {rows}: {exc}") from exc
    if rows == 0:
        raise DataError(f"{path}: no rows (expected {len(SUSY_COLUMNS)} comma-separated numbers)")
    return rows


def _open_binary(path: Path) -> BinaryIO:
    """Open a file for reading, decompressing gzip by its magic bytes, not its name."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return path.open("rb")


def _line_blocks(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Yield (number of the first line, whole lines) in blocks of about _READ_BYTES."""
    line = 1
    carry = b""
    while data := stream.read(_READ_BYTES):
        data = carry + data
        end = data.rfind(b"\n") + 1
        carry = data[end:]
        if end:
            yield line, data[:end]
            line += data.count(b"\n", 0, end)
    if carry:
        yield line, carry + b"\n"


def _check_lines(path: Path, first_line: int, lines: bytes) -> int:
    """Return how many rows the block holds; raise DataError at its first bad line."""
    expected = lines.count(b"\n")
    # Fast path: a block of plain decimal numbers that numpy parses into a well-formed table.
    # Any doubt (blank lines skipped by numpy, other characters, a parse error) falls to the
    # line-by-line check, which alone decides what is wrong.
    if not lines.translate(None, _NUMBER_BYTES + b",\r\n"):
        try:
            table = np.loadtxt(
                io.StringIO(lines.decode("ascii")),
                delimiter=",",
                comments=None,
                ndmin=2,
            )
        except ValueError:
            table = None
        if (
            table is not None
            and table.shape == (expected, len(SUSY_COLUMNS))
            and np.isin(table[:, 0], (0.0, 1.0)).all()
            and np.isfinite(table).all()
        ):
            return expected
    for offset, line in enumerate(lines.split(b"\n")[:expected]):
        problem = _line_problem(line.rstrip(b"\r"))
        if problem:
            raise DataError(f"{path}: line {first_line + offset}: {problem}")
    return expected


def _line_problem(line: bytes) -> str | None:
    """Say what is wrong with one line, or None when it is a valid SUSY row."""
    if not line:
        return f"empty line (expected {len(SUSY_COLUMNS)} comma-separated numbers)"
    cells = line.split(b",")
    if len(cells) != len(SUSY_COLUMNS):
        return f"expected {len(SUSY_COLUMNS)} comma-separated columns, found {len(cells)}"
    for column, cell in enumerate(cells, start=1):
        if not _NUMBER.fullmatch(cell):
            shown = cell[:40].decode("ascii", errors="replace")
            hint = " (SUSY files have no header row)" if cell.isalpha() else ""
            return f"column {column} ({SUSY_COLUMNS[column - 1]}) is {shown!r}, not a number{hint}"
    if float(cells[0]) not in (0.0, 1.0):
        return f"label is {cells[0].decode('ascii')!r}, expected 0 or 1"
    for column, cell in enumerate(cells, start=1):
        if not math.isfinite(float(cell)):
            shown = cell[:40].decode("ascii")
            return (
                f"column {column} ({SUSY_COLUMNS[column - 1]}) is {shown!r}, too large for a double"
            )
    return None


def fingerprint(path: Path) -> str:
    """Return "sha256:<hex>" of the file's bytes, read in a stream."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while data := stream.read(1024 * 1024):
                digest.update(data)
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such file") from exc
    return f"sha256:{digest.hexdigest()}"


def synthetic_name(rows: int, seed: int) -> str:
    """File name of the generated data set for (rows, seed)."""
    return f"synthetic-{rows}-s{seed}.csv.gz"


def default_dataset(data_dir: Path, rows: int = SUSY_ROWS, seed: int = 0) -> tuple[Path, str]:
    """Return (path, source): the real SUSY file when present, else the synthetic one.

    The synthetic path is where `generate` should write it; it may not exist yet.
    """
    for name in ("SUSY.csv.gz", "SUSY.csv"):
        if (data_dir / name).is_file():
            return data_dir / name, "susy"
    return data_dir / synthetic_name(rows, seed), "synthetic"
