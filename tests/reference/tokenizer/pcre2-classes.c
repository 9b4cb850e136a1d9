/*
 * pcre2-classes.c - print, for each Unicode class the DeepSeek regexes use,
 * every code point that PCRE2 (as linked here) puts in it.  Helper of
 * gen-unicode.py; not part of the build.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>
int main(void){
  const char *pats[]={"\\p{L}","\\p{M}","\\p{N}","\\p{P}","\\p{S}","\\s"};
  char ver[64]; pcre2_config(PCRE2_CONFIG_UNICODE_VERSION, ver); fprintf(stderr,"unicode %s\n",ver);
  for(int k=0;k<6;k++){
    int e; PCRE2_SIZE eo;
    pcre2_code *c=pcre2_compile((PCRE2_SPTR)pats[k],PCRE2_ZERO_TERMINATED,PCRE2_UTF|PCRE2_UCP,&e,&eo,NULL);
    pcre2_match_data *md=pcre2_match_data_create(1,NULL);
    printf("%s",pats[k]);
    for(unsigned cp=0;cp<0x110000;cp++){ if(cp>=0xD800&&cp<0xE000) continue;
      unsigned char b[4]; int n;
      if(cp<0x80){b[0]=cp;n=1;} else if(cp<0x800){b[0]=0xC0|cp>>6;b[1]=0x80|(cp&63);n=2;}
      else if(cp<0x10000){b[0]=0xE0|cp>>12;b[1]=0x80|(cp>>6&63);b[2]=0x80|(cp&63);n=3;}
      else {b[0]=0xF0|cp>>18;b[1]=0x80|(cp>>12&63);b[2]=0x80|(cp>>6&63);b[3]=0x80|(cp&63);n=4;}
      if(pcre2_match(c,b,n,0,PCRE2_ANCHORED,md,NULL)>0) printf(" %x",cp);
    }
    printf("\n");
  }
}
