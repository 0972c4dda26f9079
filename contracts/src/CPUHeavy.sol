// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// CPUHeavy burns computation: sort fills an array of size pseudo-random
// words, sorts it with an insertion sort (quadratic on purpose) and stores a
// digest of the result, so the call has a visible effect.
contract CPUHeavy {
    uint256 public runs;
    bytes32 public lastDigest;
    uint256 public lastSignature;

    event Finish(uint256 size, uint256 signature);

    function sort(uint256 size, uint256 signature) external {
        uint256[] memory a = new uint256[](size);
        uint256 x = signature;
        for (uint256 i = 0; i < size; i++) {
            x = uint256(keccak256(abi.encode(x, i)));
            a[i] = x;
        }
        for (uint256 i = 1; i < size; i++) {
            uint256 v = a[i];
            uint256 j = i;
            while (j > 0 && a[j - 1] > v) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
        for (uint256 i = 1; i < size; i++) {
            require(a[i - 1] <= a[i], "unsorted");
        }
        lastDigest = keccak256(abi.encodePacked(a));
        lastSignature = signature;
        runs++;
        emit Finish(size, signature);
    }
}
